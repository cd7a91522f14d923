import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  Stats,
  writeSync,
} from 'node:fs';
import { join, sep } from 'node:path';
import { instanceSpec, InstanceSpec, InstanceState } from '@hostplane/protocol';
import { z } from 'zod';
import { DriverError } from '../errors/agent-error';
import { renderConfigFile } from './config-parsers';

const INSTANCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What the agent remembers of an instance across its own restarts (`state.json`). */
export const persistedState = z.object({
  desired: z.enum(['running', 'stopped']),
  state: z.enum(['installing', 'stopped', 'starting', 'running', 'stopping', 'crashed', 'failed']),
  reason: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  pid: z.number().int().nullable(),
  /** Field 22 of /proc/<pid>/stat: tells a re-used pid from ours after an agent restart. */
  pid_start_ticks: z.number().int().nullable(),
  container_id: z.string().nullable(),
  started_at: z.string().nullable(),
  restarts: z.number().int().min(0),
  installed: z.boolean(),
});
export type PersistedState = z.infer<typeof persistedState>;

export function initialState(): PersistedState {
  return {
    desired: 'stopped',
    state: 'stopped',
    reason: null,
    exit_code: null,
    pid: null,
    pid_start_ticks: null,
    container_id: null,
    started_at: null,
    restarts: 0,
    installed: false,
  };
}

export interface InstancePaths {
  root: string;
  spec: string;
  state: string;
  data: string;
  logs: string;
  output: string;
  install: string;
  consoleFifo: string;
}

export function assertInstanceId(id: string): void {
  if (!INSTANCE_ID.test(id))
    throw new DriverError('invalid_spec', `instance id "${id.slice(0, 80)}" is invalid: use a lowercase UUID`);
}

/** `<state_dir>/instances/<id>/`: spec.json, state.json, data/ (the instance root), logs/, install.log. */
export class InstanceStore {
  readonly base: string;

  constructor(stateDir: string) {
    this.base = join(stateDir, 'instances');
  }

  paths(id: string): InstancePaths {
    assertInstanceId(id);
    const root = join(this.base, id);
    return {
      root,
      spec: join(root, 'spec.json'),
      state: join(root, 'state.json'),
      data: join(root, 'data'),
      logs: join(root, 'logs'),
      output: join(root, 'logs', 'output.log'),
      install: join(root, 'install.log'),
      consoleFifo: join(root, 'console.fifo'),
    };
  }

  exists(id: string): boolean {
    return existsSync(this.paths(id).spec);
  }

  ids(): string[] {
    if (!existsSync(this.base)) return [];
    return readdirSync(this.base).filter(
      (name) => INSTANCE_ID.test(name) && existsSync(join(this.base, name, 'spec.json')),
    );
  }

  /** The readable specs of one driver's instances (a spec that does not parse is no instance to act on). */
  specsOf(driver: string): InstanceSpec[] {
    const specs: InstanceSpec[] = [];
    for (const id of this.ids()) {
      try {
        const spec = this.readSpec(id);
        if (spec.driver === driver && spec.instance_id === id) specs.push(spec);
      } catch {
        // Unreadable: left for the operator (the hub reports it missing).
      }
    }
    return specs;
  }

  prepare(id: string): InstancePaths {
    const p = this.paths(id);
    for (const dir of [p.root, p.data, p.logs]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    return p;
  }

  readSpec(id: string): InstanceSpec {
    const p = this.paths(id);
    if (!existsSync(p.spec)) throw new DriverError('instance_not_found', `instance ${id} does not exist on this host`);
    return instanceSpec.parse(JSON.parse(readFileSync(p.spec, 'utf8')));
  }

  writeSpec(spec: InstanceSpec): void {
    writeJsonDurably(this.paths(spec.instance_id).spec, spec);
  }

  readState(id: string): PersistedState {
    const p = this.paths(id);
    try {
      return persistedState.parse(JSON.parse(readFileSync(p.state, 'utf8')));
    } catch {
      return initialState();
    }
  }

  writeState(id: string, state: PersistedState): void {
    writeJsonDurably(this.paths(id).state, state);
  }

  remove(id: string): void {
    rmSync(this.paths(id).root, { recursive: true, force: true });
  }
}

function writeJsonDurably(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(value, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/**
 * Writes the spec's config files beneath `data/`. Every path component is checked without
 * following links, so neither `../` nor a symlink planted by the workload can point a write
 * outside the instance root.
 */
export function writeConfigFiles(dataDir: string, files: InstanceSpec['config_files']): void {
  for (const file of files) {
    const parts = file.path.split('/');
    if (parts.some((part) => part === '..' || part === '.' || part === '') || file.path.startsWith('/')) {
      throw new DriverError('invalid_spec', `config file path "${file.path}" must stay inside the instance directory`);
    }
    let dir = dataDir;
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part);
      const st = lstatOrNull(dir);
      if (st === null) mkdirSync(dir, { mode: 0o755 });
      else if (st.isSymbolicLink() || !st.isDirectory())
        throw new DriverError(
          'invalid_spec',
          `config file path "${file.path}": ${dir.slice(dataDir.length + 1)} is a link or not a directory; refusing to write through it`,
        );
    }
    const target = join(dataDir, ...parts);
    if (!target.startsWith(dataDir + sep))
      throw new DriverError('invalid_spec', `config file path "${file.path}" escapes the instance directory`);
    const st = lstatOrNull(target);
    if (st?.isSymbolicLink())
      throw new DriverError(
        'invalid_spec',
        `config file "${file.path}" is a symbolic link; refusing to write through it`,
      );
    // O_NOFOLLOW: a link created between the check and the open still fails the write.
    const existing = st?.isFile() ? readFileSync(target, 'utf8') : '';
    const content = renderConfigFile(file, existing);
    const fd = openSync(
      target,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
  }
}

function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

export function isActiveState(state: InstanceState): boolean {
  return state === 'starting' || state === 'running' || state === 'stopping';
}
