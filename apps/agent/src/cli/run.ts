import { loadAgentConfig } from '../config/agent-config';
import { readCredentials } from '../config/state-dir';
import { createAgentLogger } from '../logging/logger';
import { runAgent } from '../runtime/agent-runtime';
import { AGENT_VERSION } from '../version';
import { integerFlag, parseArgs, parseFlags } from './args';

/** EX_CONFIG: systemd's RestartPreventExitStatus=78 keeps an agent the hub refused for good from restarting. */
export const FATAL_EXIT_CODE = 78;

/** `run`: the agent in the foreground (what the service managers start). */
export async function runAgentCommand(argv: string[], err: (line: string) => void): Promise<number> {
  const flags = parseFlags(
    'run',
    () =>
      parseArgs({
        args: argv,
        strict: true,
        allowPositionals: false,
        options: { config: { type: 'string' }, 'fatal-exit-code': { type: 'string' } },
      }).values,
  );
  const fatalExitCode = integerFlag('run', 'fatal-exit-code', flags['fatal-exit-code'], FATAL_EXIT_CODE, 0, 255);
  const config = loadAgentConfig({ file: flags.config });
  const log = createAgentLogger(config.logLevel);
  const credentials = readCredentials(config.stateDir);
  const hubUrl = config.hubUrl ?? credentials?.hub_url;
  const token = config.token ?? credentials?.agent_token;
  if (!hubUrl || !token) {
    const message = `this agent is not registered (no credentials in ${config.stateDir}): run hostplane-agent register --hub URL --token hp_reg_… first`;
    log.fatal(message);
    err(`hostplane-agent: ${message}`);
    return fatalExitCode;
  }

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));

  log.info(
    { version: AGENT_VERSION, hub: hubUrl, node_id: credentials?.node_id ?? null, config_file: config.configFile },
    'hostplane-agent starting',
  );
  const exit = await runAgent({ config, hubUrl, token, log, stop: stop.signal });
  if (exit.kind === 'fatal') {
    log.fatal({ code: exit.refusal.code }, `the hub refused this agent: ${exit.refusal.message}`);
    err(`hostplane-agent: the hub refused this agent: ${exit.refusal.message} (${exit.refusal.code})`);
    return fatalExitCode;
  }
  log.info('stopped');
  return 0;
}
