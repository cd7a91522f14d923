import { Command, InvalidArgumentError, type OptionValues } from 'commander';
import { HostplaneError } from '@hostplane/sdk';
import { UsageError } from './exit-codes';
import { openSession, type Session } from './session';

/** An openapi-fetch result with the answer's headers kept (202s name their operation in Location). */
export async function call<T>(
  result: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: NonNullable<T>; response: Response }> {
  const { data, error, response } = await result;
  if (!response.ok || error !== undefined) throw HostplaneError.fromBody(response.status, error);
  return { data: data as NonNullable<T>, response };
}

/** A command whose action gets the session, its arguments and its own options. */
export function run<O extends OptionValues = OptionValues>(
  action: (session: Session, args: string[], options: O, command: Command) => Promise<void>,
) {
  return async function (this: Command, ...params: unknown[]): Promise<void> {
    const command = params[params.length - 1] as Command;
    const args = command.args;
    await action(openSession(command), args, command.opts<O>(), command);
  };
}

/** `--help` ends with these. */
export function examples(command: Command, lines: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `KEY=VALUE` flags into an object. */
export function keyValues(pairs: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`'${pair}' is not KEY=VALUE`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a whole number`);
  return n;
}
