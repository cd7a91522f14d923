import { Command, CommanderError, Option } from 'commander';
import { HostplaneError } from '@hostplane/sdk';
import { backupsCommand } from './commands/backups';
import { completionCommand } from './commands/completion';
import { contextCommand } from './commands/contexts';
import { deployCommand, migrateCommand } from './commands/deploy';
import { filesCommand } from './commands/files';
import { loginCommand, logoutCommand, orgsCommand, tokensCommand } from './commands/identity';
import { instancesCommand } from './commands/instances';
import { machinesCommand } from './commands/machines';
import { nodesCommand } from './commands/nodes';
import { eventsCommand, operationsCommand } from './commands/operations';
import { workloadsCommand } from './commands/workloads';
import { zonesCommand } from './commands/zones';
import { EXIT, exitCodeOf } from './exit-codes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const CLI_VERSION = (require('../../package.json') as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('hpctl')
    .description(
      'The Hostplane command line: nodes, zones, machines, workloads, instances, files, backups and operations of a hub',
    )
    .version(CLI_VERSION)
    .option('--context <name>', 'use this saved context (default: the current one; env HOSTPLANE_CONTEXT)')
    .option('--url <url>', 'the hub (env HOSTPLANE_URL)')
    .option('--token <token>', 'an API token or access token (env HOSTPLANE_TOKEN)')
    .option('--org <id>', 'the organization to act in (env HOSTPLANE_ORG)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict.
Configuration: $XDG_CONFIG_HOME/hostplane/config.yaml (mode 0600); in CI set HOSTPLANE_URL and HOSTPLANE_TOKEN.

Examples:
  $ hpctl --url https://hub.example.com login
  $ hpctl nodes list -o json
  $ HOSTPLANE_URL=https://hub.example.com HOSTPLANE_TOKEN=hp_pat_… hpctl deploy --name web --workload 91c0… --wait
`,
    );
  for (const c of [
    loginCommand(),
    logoutCommand(),
    contextCommand(),
    orgsCommand(),
    tokensCommand(),
    nodesCommand(),
    zonesCommand(),
    machinesCommand(),
    workloadsCommand(),
    instancesCommand(),
    filesCommand(),
    backupsCommand(),
    deployCommand(),
    migrateCommand(),
    operationsCommand(),
    eventsCommand(),
  ])
    program.addCommand(c);
  program.addCommand(completionCommand(program));
  // Usage mistakes exit 2 everywhere, not only at the top level.
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const message =
      err instanceof HostplaneError ? `${err.message} (${err.code})` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = exitCodeOf(err);
  }
  // Open sockets or a paused stdin must not keep a finished command alive.
  setImmediate(() => process.exit());
}
