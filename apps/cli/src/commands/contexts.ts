import { Command } from 'commander';
import { examples } from '../command-kit';
import { readConfig, setCurrentContext, updateContext, writeConfig } from '../config-file';
import { EXIT, UsageError } from '../exit-codes';
import { parseFormat, print } from '../output';
import type { GlobalOptions } from '../session';

function formatOf(command: Command) {
  return parseFormat(command.optsWithGlobals<GlobalOptions>().output);
}

export function contextCommand(): Command {
  const context = new Command('context').description(
    'Hubs and credentials saved in $XDG_CONFIG_HOME/hostplane/config.yaml (mode 0600)',
  );
  context.addCommand(
    examples(
      new Command('add')
        .description('Save a hub (and optionally an API token) under a name')
        .argument('<name>')
        .requiredOption('--server <url>', 'the hub URL')
        .option('--api-token <token>', 'an hp_pat_ API token')
        .option('--org-id <id>', 'the organization to act in')
        .option('--use', 'make it the current context')
        .action(function (
          this: Command,
          name: string,
          o: { server: string; apiToken?: string; orgId?: string; use?: boolean },
        ) {
          new URL(o.server);
          updateContext(name, () => ({
            url: o.server,
            ...(o.apiToken ? { token: o.apiToken } : {}),
            ...(o.orgId ? { org_id: o.orgId } : {}),
          }));
          if (o.use) setCurrentContext(name);
          process.stderr.write(`added context '${name}'\n`);
        }),
      ['hpctl context add prod --server https://hub.example.com --api-token hp_pat_… --use'],
    ),
  );
  context.addCommand(
    examples(
      new Command('use')
        .description('Make a context the current one')
        .argument('<name>')
        .action((name: string) => {
          if (!readConfig().contexts[name]) throw new UsageError(`no context '${name}'`);
          setCurrentContext(name);
          process.stderr.write(`now using '${name}'\n`);
        }),
      ['hpctl context use staging'],
    ),
  );
  context.addCommand(
    examples(
      new Command('list').description('Saved contexts (tokens are not shown)').action(function (this: Command) {
        const config = readConfig();
        const rows = Object.entries(config.contexts).map(([name, c]) => ({
          name,
          current: name === config['current-context'],
          url: c.url,
          user: c.user ?? null,
          org_id: c.org_id ?? null,
          credentials: c.refresh_token ? 'login' : c.token ? 'api token' : 'none',
        }));
        print(formatOf(this), rows, [
          ['CURRENT', (r) => (r.current ? '*' : '')],
          ['NAME', (r) => r.name],
          ['URL', (r) => r.url],
          ['USER', (r) => r.user],
          ['ORG', (r) => r.org_id],
          ['CREDENTIALS', (r) => r.credentials],
        ]);
      }),
      ['hpctl context list -o yaml'],
    ),
  );
  context.addCommand(
    examples(
      new Command('remove')
        .description('Forget a context and its tokens')
        .argument('<name>')
        .action((name: string) => {
          const config = readConfig();
          if (!config.contexts[name]) {
            process.stderr.write(`no context '${name}'\n`);
            process.exitCode = EXIT.notFound;
            return;
          }
          delete config.contexts[name];
          if (config['current-context'] === name) delete config['current-context'];
          writeConfig(config);
          process.stderr.write(`removed context '${name}'\n`);
        }),
      ['hpctl context remove old-lab'],
    ),
  );
  return context;
}
