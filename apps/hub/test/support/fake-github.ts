import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';

export interface GithubIdentity {
  id: number;
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

/**
 * A small OAuth authorization server on loopback that speaks GitHub's endpoints: the
 * authorize redirect, the code-for-token exchange (single-use codes bound to client, secret and
 * redirect_uri) and the `/user` and `/user/emails` API. Tests choose who signs in.
 */
export class FakeGithub {
  readonly clientId = 'Iv1.testclient';
  readonly clientSecret = 'gh-client-secret-0123456789';
  /** Who the next authorization signs in as. */
  identity: GithubIdentity = {
    id: 4242,
    login: 'octo',
    name: 'Octo Cat',
    emails: [{ email: 'octo@example.test', primary: true, verified: true }],
  };
  readonly exchanges: Record<string, unknown>[] = [];
  private readonly codes = new Map<string, { redirectUri: string; identity: GithubIdentity }>();
  private readonly tokens = new Map<string, GithubIdentity>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeGithub> {
    const ref: { fake?: FakeGithub } = {};
    const server = createServer((req, res) => {
      ref.fake!.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.fake = new FakeGithub(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    return ref.fake;
  }

  env(): Record<string, string> {
    return {
      HOSTPLANE_GITHUB_CLIENT_ID: this.clientId,
      HOSTPLANE_GITHUB_CLIENT_SECRET: this.clientSecret,
      HOSTPLANE_GITHUB_AUTHORIZE_URL: `${this.url}/login/oauth/authorize`,
      HOSTPLANE_GITHUB_TOKEN_URL: `${this.url}/login/oauth/access_token`,
      HOSTPLANE_GITHUB_USER_URL: `${this.url}/user`,
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      if (url.searchParams.get('client_id') !== this.clientId) return void res.writeHead(404).end('unknown client');
      const code = randomBytes(10).toString('hex');
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      this.codes.set(code, { redirectUri, identity: this.identity });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return void res.writeHead(302, { location: back.toString() }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(raw) as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(raw));
      this.exchanges.push(body);
      const grant = this.codes.get(body.code ?? '');
      if (body.client_id !== this.clientId || body.client_secret !== this.clientSecret)
        return json(200, { error: 'incorrect_client_credentials' });
      if (!grant || grant.redirectUri !== body.redirect_uri) return json(200, { error: 'bad_verification_code' });
      this.codes.delete(body.code!);
      const token = `gho_${randomBytes(12).toString('hex')}`;
      this.tokens.set(token, grant.identity);
      return json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const who = this.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/emails')) {
      if (!who) return json(401, { message: 'Bad credentials' });
      if (url.pathname === '/user')
        return json(200, {
          id: who.id,
          login: who.login,
          name: who.name,
          email: who.emails.find((e) => e.primary)?.email ?? null,
        });
      return json(
        200,
        who.emails.map((e) => ({ ...e, visibility: 'private' })),
      );
    }
    res.writeHead(404).end('not found');
  }
}
