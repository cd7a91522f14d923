import type { Command } from 'commander';
import { HostplaneClient } from '@hostplane/sdk';
import { readConfig, updateContext, type HubContext } from './config-file';
import { UsageError } from './exit-codes';
import { parseFormat, type OutputFormat } from './output';

export interface GlobalOptions {
  context?: string;
  url?: string;
  token?: string;
  org?: string;
  output?: string;
}

/** What every command works with: the client of the chosen hub and the output format. */
export interface Session {
  client: HostplaneClient;
  format: OutputFormat;
  contextName?: string;
  context?: HubContext;
}

/**
 * The hub and credentials, first found wins: flags (`--url`, `--token`, `--org`), then the
 * environment (`HOSTPLANE_URL`, `HOSTPLANE_TOKEN`, `HOSTPLANE_ORG`, for CI), then the context
 * (`--context`, `HOSTPLANE_CONTEXT`, else the current one in the config file).
 */
export function openSession(command: Command, env: NodeJS.ProcessEnv = process.env): Session {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const format = parseFormat(opts.output);
  const config = readConfig();
  const contextName = opts.context ?? env.HOSTPLANE_CONTEXT ?? config['current-context'];
  const context = contextName ? config.contexts[contextName] : undefined;
  if (opts.context && !context) throw new UsageError(`no context '${opts.context}': see \`hpctl context list\``);
  const url = opts.url ?? env.HOSTPLANE_URL ?? context?.url;
  if (!url) throw new UsageError('no hub: run `hpctl login --url URL`, `hpctl context add`, or set HOSTPLANE_URL');
  const explicitToken = opts.token ?? env.HOSTPLANE_TOKEN;
  const token = explicitToken ?? context?.token;
  // A saved login session refreshes itself; a token given by flag or environment is used as it is.
  const refreshToken = explicitToken ? undefined : context?.refresh_token;
  const client = new HostplaneClient({
    baseUrl: url,
    token,
    refreshToken,
    orgId: opts.org ?? env.HOSTPLANE_ORG ?? context?.org_id,
    onTokens: (t) => {
      if (contextName)
        updateContext(contextName, (c) => ({ ...(c ?? { url }), token: t.accessToken, refresh_token: t.refreshToken }));
    },
  });
  return { client, format, contextName, context };
}
