import { Command } from 'commander';
import { HostplaneClient, unwrap, type paths } from '@hostplane/sdk';

type TokenScopes = NonNullable<paths['/v1/api-tokens']['post']['requestBody']>['content']['application/json']['scopes'];
import { call, examples, run } from '../command-kit';
import { readConfig, setCurrentContext, updateContext } from '../config-file';
import { UsageError } from '../exit-codes';
import { print } from '../output';
import { ask, closePrompts } from '../prompt';
import type { GlobalOptions } from '../session';

interface LoginOptions {
  email?: string;
  passwordStdin?: boolean;
  mfaCode?: string;
  name?: string;
}

export function loginCommand(): Command {
  return examples(
    new Command('login')
      .description('Log in to a hub (password, then the MFA code when enrolled) or save an API token; saves a context')
      .option('--email <email>', 'account email (asked when missing)')
      .option('--mfa-code <code>', 'the current TOTP code (asked when the account has MFA)')
      .option('--name <context>', 'name of the context to save (default: the hub host)')
      .action(async function (this: Command, options: LoginOptions) {
        const globals = this.optsWithGlobals<GlobalOptions>();
        const config = readConfig();
        const current = config['current-context'] ? config.contexts[config['current-context']] : undefined;
        const url = globals.url ?? process.env.HOSTPLANE_URL ?? current?.url;
        if (!url) throw new UsageError('login needs --url (or HOSTPLANE_URL)');
        const name = options.name ?? globals.context ?? new URL(url).host;
        const anonymous = new HostplaneClient({ baseUrl: url });
        if (globals.token) {
          // An API token: check it before saving it.
          const probe = new HostplaneClient({ baseUrl: url, token: globals.token });
          await unwrap(probe.api.GET('/v1/nodes', { params: { query: { limit: 1 } } }));
          updateContext(name, () => ({ url, token: globals.token, ...(globals.org ? { org_id: globals.org } : {}) }));
          setCurrentContext(name);
          process.stderr.write(`saved the token in context '${name}'\n`);
          return;
        }
        const email = options.email ?? (await ask('Email: '));
        const password = await ask('Password: ', true);
        let tokens = await unwrap(anonymous.api.POST('/v1/auth/login', { body: { email, password } }));
        if ('mfa_required' in tokens && tokens.mfa_required) {
          const code = options.mfaCode ?? (await ask('MFA code: '));
          tokens = await unwrap(
            anonymous.api.POST('/v1/auth/mfa/challenge', { body: { challenge_token: tokens.challenge_token, code } }),
          );
        }
        closePrompts();
        if (!('access_token' in tokens)) throw new Error('the hub answered no tokens');
        const session = new HostplaneClient({ baseUrl: url, token: tokens.access_token });
        const orgs = (await unwrap(session.api.GET('/v1/organizations'))).data;
        const orgId = globals.org ?? (orgs.length === 1 ? orgs[0].id : current?.org_id);
        updateContext(name, () => ({
          url,
          token: tokens.access_token,
          refresh_token: tokens.refresh_token,
          user: email,
          ...(orgId ? { org_id: orgId } : {}),
        }));
        setCurrentContext(name);
        process.stderr.write(
          `logged in to ${url} as ${email} (context '${name}'${orgId ? `, organization ${orgId}` : ''})\n` +
            (orgId ? '' : `you belong to ${orgs.length} organizations: pick one with \`hpctl orgs use ID\`\n`),
        );
      }),
    [
      'hpctl --url https://hub.example.com login --email ops@example.com',
      'printf \'%s\\n\' "$PASSWORD" | hpctl --url https://hub.example.com login --email ops@example.com --mfa-code 123456',
      'hpctl --url https://hub.example.com --token hp_pat_… login --name ci',
    ],
  );
}

export function logoutCommand(): Command {
  return examples(
    new Command('logout').description('End the login session of the current context and forget its tokens').action(
      run(async (s) => {
        if (s.context?.refresh_token) await s.client.fetch('/v1/auth/logout', { method: 'POST' });
        if (s.contextName)
          updateContext(s.contextName, (c) => ({ url: c!.url, ...(c!.org_id ? { org_id: c!.org_id } : {}) }));
        process.stderr.write('logged out\n');
      }),
    ),
    ['hpctl logout'],
  );
}

export function orgsCommand(): Command {
  const orgs = new Command('orgs').description('Organizations you belong to');
  orgs.addCommand(
    examples(
      new Command('list').description('List your organizations').action(
        run(async (s) => {
          const all = (await unwrap(s.client.api.GET('/v1/organizations'))).data;
          print(s.format, all, [
            ['ID', (o) => o.id],
            ['NAME', (o) => o.name],
            ['ROLE', (o) => (o as { role?: string }).role],
          ]);
        }),
      ),
      ['hpctl orgs list -o json'],
    ),
  );
  orgs.addCommand(
    examples(
      new Command('get')
        .description('One organization')
        .argument('<id>')
        .action(
          run(async (s, [id]) => {
            print(
              s.format,
              await unwrap(s.client.api.GET('/v1/organizations/{orgId}', { params: { path: { orgId: id } } })),
            );
          }),
        ),
      ['hpctl orgs get 6f1c…'],
    ),
  );
  orgs.addCommand(
    examples(
      new Command('use')
        .description('Act in this organization from now on (saved in the current context)')
        .argument('<id>')
        .action(
          run(async (s, [id]) => {
            if (!s.contextName) throw new UsageError('no context to save the organization in');
            updateContext(s.contextName, (c) => ({ ...c!, org_id: id }));
            process.stderr.write(`context '${s.contextName}' now acts in organization ${id}\n`);
          }),
        ),
      ['hpctl orgs use 6f1c…'],
    ),
  );
  return orgs;
}

export function tokensCommand(): Command {
  const tokens = new Command('tokens').description('API tokens (hp_pat_…) for scripts and CI');
  tokens.addCommand(
    examples(
      new Command('create')
        .description('Create an API token in the current organization; its value is shown once')
        .argument('<name>')
        .option('--expires-in <seconds>', 'lifetime in seconds (default: never expires)')
        .option('--scope <permission...>', 'permissions the token may use (default: all of yours)')
        .action(
          run<{ expiresIn?: string; scope?: string[] }>(async (s, [name], o) => {
            const { data } = await call(
              s.client.api.POST('/v1/api-tokens', {
                body: {
                  name,
                  expires_in: o.expiresIn ? Number(o.expiresIn) : null,
                  ...(o.scope ? { scopes: o.scope as TokenScopes } : {}),
                },
              }),
            );
            if (s.format === 'table') process.stdout.write(`${data.token}\n`);
            else print(s.format, data);
          }),
        ),
      ['hpctl tokens create ci-deploy --expires-in 2592000', 'export HOSTPLANE_TOKEN=$(hpctl tokens create ci)'],
    ),
  );
  tokens.addCommand(
    examples(
      new Command('list').description('Your API tokens (never their values)').action(
        run(async (s) => {
          const all = (await unwrap(s.client.api.GET('/v1/api-tokens'))).data;
          print(s.format, all, [
            ['ID', (t) => t.id],
            ['NAME', (t) => t.name],
            ['HINT', (t) => t.token_hint],
            ['EXPIRES', (t) => t.expires_at],
            ['LAST USED', (t) => t.last_used_at],
          ]);
        }),
      ),
      ['hpctl tokens list'],
    ),
  );
  tokens.addCommand(
    examples(
      new Command('revoke')
        .description('Revoke an API token: requests with it fail at once')
        .argument('<id>')
        .action(
          run(async (s, [id]) => {
            await call(s.client.api.DELETE('/v1/api-tokens/{id}', { params: { path: { id } } }));
            process.stderr.write(`revoked ${id}\n`);
          }),
        ),
      ['hpctl tokens revoke 0b5e…'],
    ),
  );
  return tokens;
}
