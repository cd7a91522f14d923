import { accessSync, chmodSync, chownSync, constants, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupLayout, detectCgroups, InstanceCgroup } from './cgroups';
import type { SandboxIdentity } from './sandbox-identity';

export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the workload's own variables are read from inside the sandbox (never on a root process's command line or environment). */
const ENV_FILE_INSIDE = '/run/hostplane-env';
/** Host directories a workload never sees (empty tmpfs over them): other users' homes, services' data, the runtime dir with docker.sock. */
const HIDDEN_DIRS = ['/tmp', '/run', '/home', '/root', '/mnt', '/media', '/srv', '/var/lib', '/var/log', '/var/tmp', '/var/spool', '/var/mail', '/etc/hostplane'];

/** Joins the instance's cgroups (pid of this shell, inherited across exec), then becomes the sandbox. */
const JOIN_CGROUPS = 'for d; do shift; [ "$d" = -- ] && break; echo $$ > "$d/cgroup.procs" || exit 125; done; exec "$@"';
/** Inside, as the workload's user: export its variables, then run its command. */
const LOAD_ENV = `set -a; . ${ENV_FILE_INSIDE}; set +a; exec "$@"`;

function findProgram(name: string): string | null {
  for (const dir of SANDBOX_PATH.split(':')) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

export function shellWord(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface SandboxRun {
  id: string;
  identity: SandboxIdentity;
  /** The instance root on the host, seen inside at `mountAt`. */
  dataDir: string;
  mountAt: '/home/container' | '/mnt/server';
  /** Written 0400 for the workload's user and bind-mounted read-only. */
  envFile: string;
  env: Record<string, string>;
  cgroup: InstanceCgroup;
  argv: readonly [string, ...string[]];
}

/**
 * Confinement of `process` workloads on Linux: bubblewrap (as root) gives new mount, pid, ipc and
 * uts namespaces over a read-only view of the host with private /tmp, /run, /home…; setpriv then
 * drops to the instance's uid/gid with no capabilities and no_new_privs; a cgroup holds memory,
 * CPU and pids limits. See docs/decisions/0019-workload-sandbox.md.
 */
export class ProcessSandbox {
  readonly bwrap = findProgram('bwrap');
  readonly setpriv = findProgram('setpriv');
  readonly cgroups: CgroupLayout | { problem: string };

  constructor(
    /** The agent's state dir: hidden inside the sandbox too, wherever it lives. */
    private readonly stateDir: string,
    cgroupRoot?: string,
  ) {
    this.cgroups = detectCgroups(cgroupRoot);
  }

  /** Null when workloads can be confined here, else why not (said in inventory and in refusals). */
  problem(): string | null {
    if (process.platform !== 'linux') return `no sandbox for process workloads on ${process.platform}`;
    if (process.getuid?.() !== 0) return 'the agent does not run as root, so it cannot switch workloads to their own users';
    if (!this.bwrap) return 'bubblewrap (bwrap) is not installed (apt-get install bubblewrap)';
    if (!this.setpriv) return 'setpriv (util-linux) is not installed';
    if ('problem' in this.cgroups) return this.cgroups.problem;
    return null;
  }

  cgroup(id: string): InstanceCgroup {
    if ('problem' in this.cgroups) throw new Error(this.cgroups.problem);
    return new InstanceCgroup(this.cgroups, id);
  }

  /** The argv that runs `run.argv` confined; its environment must be `rootEnvironment()`. */
  command(run: SandboxRun): [string, ...string[]] {
    const { bwrap, setpriv } = this;
    if (!bwrap || !setpriv) throw new Error(this.problem() ?? 'no sandbox');
    writeFileSync(run.envFile, Object.entries(run.env).map(([k, v]) => `${k}=${shellWord(v)}\n`).join(''), { mode: 0o400 });
    chownSync(run.envFile, run.identity.uid, run.identity.gid);
    chmodSync(run.envFile, 0o400);
    const hidden = [...HIDDEN_DIRS.filter((d) => existsSync(d)), ...(HIDDEN_DIRS.some((d) => this.stateDir === d || this.stateDir.startsWith(`${d}/`)) ? [] : [this.stateDir])];
    const box = [
      bwrap,
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      '--hostname',
      `hp-${run.id.slice(0, 8)}`,
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      ...hidden.flatMap((d) => ['--tmpfs', d]),
      '--bind',
      run.dataDir,
      run.mountAt,
      '--ro-bind',
      run.envFile,
      ENV_FILE_INSIDE,
      '--chdir',
      run.mountAt,
      '--clearenv',
      '--setenv',
      'PATH',
      SANDBOX_PATH,
      '--setenv',
      'HOME',
      run.mountAt,
      '--setenv',
      'USER',
      'container',
      '--',
    ];
    const drop = [setpriv, `--reuid=${run.identity.uid}`, `--regid=${run.identity.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
    return ['/bin/sh', '-c', JOIN_CGROUPS, 'hostplane-sandbox', ...run.cgroup.dirs, '--', ...box, ...drop, '/bin/sh', '-c', LOAD_ENV, 'hostplane-env', ...run.argv];
  }
}

/** What the root-side wrapper and bwrap see: nothing of the workload's (its variables never reach a root process). */
export function rootEnvironment(): Record<string, string> {
  return { PATH: SANDBOX_PATH, LANG: 'C.UTF-8' };
}
