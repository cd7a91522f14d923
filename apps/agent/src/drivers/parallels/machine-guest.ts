import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { checkArgv, checkGuestPath, checkMachineRef } from '@hostplane/protocol';
import { AgentError } from '../../errors/agent-error';
import { CommandError } from '../../exec/run-command';
import { runWithFiles } from '../../illumos/host-exec';
import type { ConsoleHandle, LogFollower } from '../../instances/instance-driver';
import type { InputTarget } from '../../transfers/input-target';
import { openPtyConsole } from '../pty-console';
import { followExec } from './guest-exec';
import type { PrlHost } from '../../parallels/prl-host';

/**
 * The copy into the guest: a fixed script, the path its one argument (`$1`), the bytes on stdin.
 * Nothing the caller sends becomes part of a command line.
 */
export const GUEST_WRITE_SCRIPT = ['/bin/sh', '-c', 'cat > "$1"', 'sh'] as const;
/** Copying a large file through the guest tools takes a while. */
const UPLOAD_COPY_TIMEOUT_MS = 30 * 60_000;

class GuestError extends AgentError {}

/**
 * What only a VM has, inside its guest: a streamed command (`prlctl exec`), a shell (`prlctl
 * enter` in a pty) and a file copied in (staged on the host, then written by the guest tools).
 * The VM is checked (a strict reference, present, running) before any of them runs.
 */
export class MachineGuest {
  constructor(
    private readonly host: PrlHost,
    private readonly stagingDir: string,
  ) {}

  private async running(vm: string) {
    checkMachineRef('vm', vm);
    const m = await this.host.machine(vm);
    if (!m) throw new GuestError('machine_not_found', `no VM "${vm.slice(0, 100)}" on this host`, 404);
    if (m.state !== 'running')
      throw new GuestError('machine_not_running', `VM ${m.name} is ${m.state}, not running`, 409);
    return m;
  }

  async exec(p: {
    vm: string;
    argv: string[];
    current_user: boolean;
    timeout_seconds: number;
    max_output_bytes: number;
  }): Promise<LogFollower> {
    const m = await this.running(p.vm);
    const command = [...(p.current_user ? ['--current-user'] : []), ...checkArgv('argv', p.argv)];
    const child = this.host.exec.spawnPiped(this.host.execArgv(m.id, command));
    return followExec(child, { timeoutMs: p.timeout_seconds * 1000, maxOutputBytes: p.max_output_bytes });
  }

  async shell(vm: string, size: { cols: number; rows: number }): Promise<ConsoleHandle> {
    const m = await this.running(vm);
    return openPtyConsole(this.host.enterArgv(m.id), this.host.exec.options.env, 'prlctl enter', size);
  }

  /** Where an upload's bytes go: a staging file, copied into the guest at eof, then removed. */
  async upload(vm: string, path: string, maxBytes: number): Promise<InputTarget> {
    checkGuestPath('path', path);
    const m = await this.running(vm);
    mkdirSync(this.stagingDir, { recursive: true, mode: 0o700 });
    const staged = join(this.stagingDir, `${randomUUID()}.part`);
    const file: FileHandle = await open(staged, 'wx', 0o600);
    let bytes = 0;
    let closed = false;
    const closeFile = async () => {
      if (closed) return;
      closed = true;
      await file.close();
    };
    const argv = this.host.execArgv(m.id, [...GUEST_WRITE_SCRIPT, path]);
    return {
      write: async (chunk) => {
        bytes += chunk.length;
        if (bytes > maxBytes)
          throw new GuestError('file_too_large', `the upload is larger than the limit of ${maxBytes} bytes`, 413);
        await file.write(chunk);
      },
      finish: async () => {
        try {
          await file.sync();
          const input = await open(staged, 'r');
          try {
            await runWithFiles(this.host.exec, argv, { stdinFd: input.fd }, UPLOAD_COPY_TIMEOUT_MS);
          } catch (err) {
            if (err instanceof CommandError)
              throw new GuestError('guest_write_failed', `writing ${path} in the guest failed: ${err.message}`, 502);
            throw err;
          } finally {
            await input.close();
          }
          return bytes;
        } finally {
          await closeFile();
          await rm(staged, { force: true });
        }
      },
      abandon: async () => {
        await closeFile();
        await rm(staged, { force: true });
      },
    };
  }
}
