import { userInfo } from 'node:os';
import { DEFAULT_CONFIG_FILE } from '../config/agent-config';
import {
  SERVICE_DEFINITIONS,
  SERVICE_PLATFORMS,
  ServicePlatform,
  platformOfThisHost,
} from '../service/service-definitions';
import { installService, uninstallService } from '../service/service-files';
import { parseArgs, parseFlags, UsageError } from './args';

/** `service install|uninstall`: the systemd unit, SMF manifest or launchd plist of the agent. */
export async function serviceCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'install' && action !== 'uninstall')
    throw new UsageError('service: say "service install" or "service uninstall"');
  const flags = parseFlags(
    `service ${action}`,
    () =>
      parseArgs({
        args: rest,
        strict: true,
        allowPositionals: false,
        options: {
          root: { type: 'string', default: '/' },
          'no-enable': { type: 'boolean', default: false },
          platform: { type: 'string' },
          user: { type: 'string' },
          config: { type: 'string' },
          exec: { type: 'string' },
        },
      }).values,
  );
  const platform = resolvePlatform(flags.platform);
  if (action === 'uninstall') {
    await uninstallService({ platform, root: flags.root, noEnable: flags['no-enable'], print: out });
    return 0;
  }
  const mainScript = require.main?.filename ?? process.argv[1];
  if (!flags.exec && !mainScript)
    throw new UsageError('service install: cannot tell where the agent is installed; pass --exec PATH');
  await installService({
    platform,
    root: flags.root,
    noEnable: flags['no-enable'],
    exec: flags.exec ? [flags.exec] : [process.execPath, mainScript as string],
    configFile: flags.config ?? DEFAULT_CONFIG_FILE,
    user: flags.user ?? userInfo().username,
    print: out,
  });
  if (flags['no-enable'])
    out(`not enabled (--no-enable); the ${SERVICE_DEFINITIONS[platform].manager} service is left alone`);
  return 0;
}

function resolvePlatform(flag: string | undefined): ServicePlatform {
  if (flag !== undefined) {
    if ((SERVICE_PLATFORMS as readonly string[]).includes(flag)) return flag as ServicePlatform;
    throw new UsageError(`service: --platform must be one of ${SERVICE_PLATFORMS.join(', ')} (got "${flag}")`);
  }
  const own = platformOfThisHost();
  if (!own)
    throw new UsageError(
      `service: no service manager support for ${process.platform}; pass --platform to render a file anyway`,
    );
  return own;
}
