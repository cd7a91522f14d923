import { lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceSpec } from '@hostplane/protocol';
import { writeConfigFiles } from '../../instances/instance-store';
import { DriverError } from '../driver';

/**
 * A native zone's workload runs as an SMF service of the zone (`site/hostplane-workload`), whose
 * start method runs `/opt/hostplane/run` on the zone console: the console is the workload's
 * terminal, as a process driver's console is its stdin/stdout. The agent writes these files into
 * the zone root only while the zone is not running, refusing to write through links.
 */
export const WORKLOAD_DIR = 'opt/hostplane';
const MANIFEST = 'lib/svc/manifest/site/hostplane-workload.xml';

const RUN_SCRIPT = `#!/bin/sh
# The Hostplane workload of this zone, started by svc:/site/hostplane-workload (written by the agent).
cd "$(dirname "$0")" || exit 1
[ -t 0 ] || exec 0<>/dev/console 1>&0 2>&0
if [ -f install-pending ]; then
  /bin/sh ./install.sh > install.log 2>&1
  echo $? > install-exit
  rm -f install-pending
  exit 0
fi
rm -f exit-code
. ./env
# Survive the zone's SIGTERM at shutdown so that the workload's exit status is recorded.
trap ':' TERM
/bin/sh ./startup.sh
echo $? > exit-code
`;

const MANIFEST_XML = `<?xml version="1.0"?>
<!DOCTYPE service_bundle SYSTEM "/usr/share/lib/xml/dtd/service_bundle.dtd.1">
<service_bundle type="manifest" name="hostplane-workload">
  <service name="site/hostplane-workload" type="service" version="1">
    <create_default_instance enabled="true"/>
    <single_instance/>
    <dependency name="multi-user" grouping="require_all" restart_on="none" type="service">
      <service_fmri value="svc:/milestone/multi-user:default"/>
    </dependency>
    <exec_method type="method" name="start" exec="/bin/sh /opt/hostplane/run" timeout_seconds="0"/>
    <exec_method type="method" name="stop" exec=":kill" timeout_seconds="60"/>
    <property_group name="startd" type="framework">
      <propval name="duration" type="astring" value="child"/>
    </property_group>
  </service>
</service_bundle>
`;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function envFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${shellQuote(v)}; export ${k}\n`)
    .join('');
}

function file(path: string, content: string): InstanceSpec['config_files'][number] {
  return { path, parser: 'file', content };
}

/** The zone's root directory as the global zone sees it. */
export function zoneRoot(zonepath: string): string {
  return join(zonepath, 'root');
}

function assertRealDir(root: string, rel: string): void {
  const st = lstatSync(join(root, rel), { throwIfNoEntry: false });
  if (st && (st.isSymbolicLink() || !st.isDirectory()))
    throw new DriverError(
      'install_failed',
      `${rel} in the zone is a link or not a directory; refusing to write through it`,
    );
}

/** Writes the service manifest, the run script, startup, env, config files and (when asked) the install script. */
export function writeWorkload(zonepath: string, spec: InstanceSpec, options: { installPending: boolean }): void {
  const root = zoneRoot(zonepath);
  for (const dir of ['opt', WORKLOAD_DIR, 'lib', 'lib/svc', 'lib/svc/manifest', 'lib/svc/manifest/site']) {
    assertRealDir(root, dir);
    mkdirSync(join(root, dir), { recursive: true, mode: 0o755 });
  }
  const files = [
    file(MANIFEST, MANIFEST_XML),
    file(`${WORKLOAD_DIR}/run`, RUN_SCRIPT),
    file(`${WORKLOAD_DIR}/startup.sh`, `${spec.startup}\n`),
    file(`${WORKLOAD_DIR}/env`, envFile(spec.env)),
  ];
  if (spec.install && options.installPending)
    files.push(
      file(`${WORKLOAD_DIR}/install.sh`, `${spec.install.script}\n`),
      file(`${WORKLOAD_DIR}/install-pending`, ''),
    );
  writeConfigFiles(root, files);
  writeConfigFiles(join(root, WORKLOAD_DIR), spec.config_files);
}

function readSmallFile(root: string, rel: string): string | null {
  const path = join(root, WORKLOAD_DIR, rel);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st || !st.isFile() || st.size > 64 * 1024) return null;
  return readFileSync(path, 'utf8');
}

/** The workload's exit status once it has ended (null while it runs or when the zone was halted under it). */
export function workloadExitCode(zonepath: string): number | null {
  const text = readSmallFile(zoneRoot(zonepath), 'exit-code');
  return text === null || !/^\d+\s*$/.test(text) ? null : Number(text);
}

export function clearWorkloadExit(zonepath: string): void {
  rmSync(join(zoneRoot(zonepath), WORKLOAD_DIR, 'exit-code'), { force: true });
}

/** The install script's result: null while it runs. */
export function installResult(zonepath: string): { exitCode: number; log: string } | null {
  const root = zoneRoot(zonepath);
  const code = readSmallFile(root, 'install-exit');
  if (code === null || !/^\d+\s*$/.test(code)) return null;
  return { exitCode: Number(code), log: readSmallFile(root, 'install.log') ?? '' };
}
