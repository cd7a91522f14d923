export const SERVICE_PLATFORMS = ['linux', 'illumos', 'darwin'] as const;
export type ServicePlatform = (typeof SERVICE_PLATFORMS)[number];

type Argv = [string, ...string[]];

/** How one service manager runs the agent: where its file goes, how it is escaped, how it is (de)activated. */
export interface ServiceDefinition {
  platform: ServicePlatform;
  manager: 'systemd' | 'smf' | 'launchd';
  /** Template path below the repository's `deploy/`. */
  template: string;
  /** Where the rendered file is installed, relative to the root. */
  installPath: string;
  /** Escapes one placeholder value for the file's syntax. */
  escapeValue(value: string): string;
  /** Renders the program and its leading arguments (node and the agent's script). */
  renderExec(argv: readonly string[]): string;
  activate(installedFile: string): Argv[];
  /** Run before the file is removed. */
  deactivate(): Argv[];
  /** Run after the file is removed. */
  afterRemove(): Argv[];
  status: { argv: Argv; okExitCodes: number[]; parse(stdout: string): string | null };
}

const SYSTEMD_UNIT = 'hostplane-agent.service';
const SMF_FMRI = 'svc:/site/hostplane-agent:default';
const LAUNCHD_LABEL = 'com.hostplane.agent';

export const SERVICE_DEFINITIONS: Record<ServicePlatform, ServiceDefinition> = {
  linux: {
    platform: 'linux',
    manager: 'systemd',
    template: 'systemd/hostplane-agent.service',
    installPath: `etc/systemd/system/${SYSTEMD_UNIT}`,
    escapeValue: systemdWord,
    renderExec: (argv) => argv.map(systemdWord).join(' '),
    activate: () => [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', SYSTEMD_UNIT],
    ],
    deactivate: () => [['systemctl', 'disable', '--now', SYSTEMD_UNIT]],
    afterRemove: () => [['systemctl', 'daemon-reload']],
    // is-active answers 3 (inactive) and 4 (no such unit) with the state on stdout.
    status: { argv: ['systemctl', 'is-active', SYSTEMD_UNIT], okExitCodes: [3, 4], parse: (out) => out.trim() || null },
  },
  illumos: {
    platform: 'illumos',
    manager: 'smf',
    template: 'smf/hostplane-agent.xml',
    installPath: 'var/svc/manifest/site/hostplane-agent.xml',
    escapeValue: (v) => xmlEscape(smfToken(v)),
    renderExec: (argv) => xmlEscape(argv.map(smfToken).join(' ')),
    activate: (file) => [
      ['svccfg', 'import', file],
      ['svcadm', 'enable', SMF_FMRI],
    ],
    deactivate: () => [
      ['svcadm', 'disable', '-s', SMF_FMRI],
      ['svccfg', 'delete', 'svc:/site/hostplane-agent'],
    ],
    afterRemove: () => [],
    status: { argv: ['svcs', '-H', '-o', 'state', SMF_FMRI], okExitCodes: [], parse: (out) => out.trim() || null },
  },
  darwin: {
    platform: 'darwin',
    manager: 'launchd',
    template: 'launchd/com.hostplane.agent.plist',
    installPath: `Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`,
    escapeValue: xmlEscape,
    renderExec: (argv) => argv.map((a) => `    <string>${xmlEscape(a)}</string>`).join('\n'),
    // `enable` first: a label disabled earlier would otherwise refuse to bootstrap.
    activate: (file) => [
      ['launchctl', 'enable', `system/${LAUNCHD_LABEL}`],
      ['launchctl', 'bootstrap', 'system', file],
    ],
    deactivate: () => [['launchctl', 'bootout', `system/${LAUNCHD_LABEL}`]],
    afterRemove: () => [],
    status: {
      argv: ['launchctl', 'print', `system/${LAUNCHD_LABEL}`],
      okExitCodes: [],
      parse: (out) => /^\s*state = (.+)$/m.exec(out)?.[1]?.trim() ?? 'loaded',
    },
  },
};

export function platformOfThisHost(): ServicePlatform | null {
  if (process.platform === 'linux') return 'linux';
  if (process.platform === 'sunos') return 'illumos';
  if (process.platform === 'darwin') return 'darwin';
  return null;
}

/**
 * One word of an ExecStart line: quoted when needed, and with systemd's specifier (%) and
 * variable ($) characters doubled so a path is never expanded.
 */
export function systemdWord(value: string): string {
  const escaped = value.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./%$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** SMF method strings go through the shell and method-token (%) expansion. */
export function smfToken(value: string): string {
  const escaped = value.replace(/%/g, '%%');
  if (/^[A-Za-z0-9_@+=:,./%-]+$/.test(escaped)) return escaped;
  return `'${escaped.replace(/'/g, `'\\''`)}'`;
}

export function xmlEscape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
