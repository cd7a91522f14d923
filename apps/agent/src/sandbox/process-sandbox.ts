import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  existsSync,
  lstatSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { CgroupLayout, detectCgroups, InstanceCgroup } from './cgroups';
import type { SandboxIdentity } from './sandbox-identity';

export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/**
 * Where the workload's own variables are read from inside the sandbox (never on a root process's command line or
 * environment).
 */
const ENV_FILE_INSIDE = '/run/hostplane-env';
/**
 * The host directories a workload sees, read-only: programs, libraries and system configuration. Everything else
 * (homes, /var, /srv, /mnt, other instances) is absent.
 */
const SHARED_DIRS = ['/usr', '/etc', '/opt', '/sys'];
/** On merged-/usr hosts these are links into /usr; elsewhere directories. */
const ROOT_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** Inside a shared directory but never shown: the agent's own configuration (it may hold its token). */
const HIDDEN_DIRS = ['/etc/hostplane'];

/** Joins the instance's cgroups (pid of this shell, inherited across exec), then becomes the sandbox. */
const JOIN_CGROUPS =
  'for d; do shift; [ "$d" = -- ] && break; echo $$ > "$d/cgroup.procs" || exit 125; done; exec "$@"';
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
  private readonly stateKey: string;

  constructor(
    /** The agent's state dir: hidden inside the sandbox too, wherever it lives. */
    private readonly stateDir: string,
    cgroupRoot?: string,
  ) {
    this.cgroups = detectCgroups(cgroupRoot);
    this.stateKey = createHash('sha256').update(stateDir).digest('hex').slice(0, 8);
  }

  /** Null when workloads can be confined here, else why not (said in inventory and in refusals). */
  problem(): string | null {
    if (process.platform !== 'linux') return `no sandbox for process workloads on ${process.platform}`;
    if (process.getuid?.() !== 0)
      return 'the agent does not run as root, so it cannot switch workloads to their own users';
    if (!this.bwrap) return 'bubblewrap (bwrap) is not installed (apt-get install bubblewrap)';
    if (!this.setpriv) return 'setpriv (util-linux) is not installed';
    if ('problem' in this.cgroups) return this.cgroups.problem;
    return null;
  }

  /**
   * `hostplane/<id>.<state dir key>`: two agents on one host (tests, staging) never share or kill each other's groups.
   */
  cgroup(id: string): InstanceCgroup {
    if ('problem' in this.cgroups) throw new Error(this.cgroups.problem);
    return new InstanceCgroup(this.cgroups, `${id}.${this.stateKey}`);
  }

  /** The argv that runs `run.argv` confined; its environment must be `rootEnvironment()`. */
  command(run: SandboxRun): [string, ...string[]] {
    const { bwrap, setpriv } = this;
    if (!bwrap || !setpriv) throw new Error(this.problem() ?? 'no sandbox');
    writeFileSync(
      run.envFile,
      Object.entries(run.env)
        .map(([k, v]) => `${k}=${shellWord(v)}\n`)
        .join(''),
      { mode: 0o400 },
    );
    chownSync(run.envFile, run.identity.uid, run.identity.gid);
    chmodSync(run.envFile, 0o400);
    const inShared = SHARED_DIRS.some((d) => this.stateDir.startsWith(`${d}/`));
    const hidden = [...HIDDEN_DIRS, ...(inShared ? [this.stateDir] : [])].filter((d) => existsSync(d));
    const box = [
      bwrap,
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      '--hostname',
      `hp-${run.id.slice(0, 8)}`,
      ...hostView(),
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--tmpfs',
      '/tmp',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/var',
      '--dir',
      '/var/tmp',
      '--symlink',
      '../run',
      '/var/run',
      ...hidden.flatMap((d) => ['--tmpfs', d]),
      // bwrap would create the parent of the mount point 0700 (root's): the workload could not reach its own root by
      // its path.
      '--perms',
      '0755',
      '--dir',
      dirname(run.mountAt),
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
    const drop = [
      setpriv,
      `--reuid=${run.identity.uid}`,
      `--regid=${run.identity.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
    ];
    return [
      '/bin/sh',
      '-c',
      JOIN_CGROUPS,
      'hostplane-sandbox',
      ...run.cgroup.dirs,
      '--',
      ...box,
      ...drop,
      '/bin/sh',
      '-c',
      LOAD_ENV,
      'hostplane-env',
      ...run.argv,
    ];
  }
}

/** bwrap arguments for the shared host directories and the /bin, /lib… links or directories of this host. */
function hostView(): string[] {
  const args = SHARED_DIRS.filter((d) => existsSync(d)).flatMap((d) => ['--ro-bind', d, d]);
  for (const path of ROOT_LINKS) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (st.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

/** What the root-side wrapper and bwrap see: nothing of the workload's (its variables never reach a root process). */
export function rootEnvironment(): Record<string, string> {
  return { PATH: SANDBOX_PATH, LANG: 'C.UTF-8' };
}
