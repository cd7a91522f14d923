import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Authenticator } from '../src/access/authenticator';
import { JWT_TYPES } from '../src/access/jwt-keyring';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const MiB = 1024 * 1024;
/** Imported locally by scripts/services.sh (never pulled): busybox with sh, stty, echo… */
const IMAGE = 'hostplane/busybox:test';
const SCROLLBACK = 4;

/** Prints ten numbered lines, then echoes every console line; `size` prints the tty size where there is one. */
function workload(name: string, driver: 'process' | 'docker') {
  return {
    name,
    driver,
    ...(driver === 'docker' ? { image: IMAGE } : {}),
    startup: `i=1; while [ $i -le 10 ]; do echo "early-$i"; i=$((i+1)); done; echo ready; while read -r line; do if [ "$line" = size ]; then stty size; else echo "got: $line"; fi; done`,
    variables: [],
    resources: { cpu_cores: 0.2, memory_bytes: 64 * MiB, disk_bytes: 0 },
    ready_pattern: '^ready',
    stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
    restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
  };
}

interface Frame {
  text: string | null;
  binary: Buffer | null;
}

/** A console socket recording every frame in order. */
class ConsoleClient {
  readonly frames: Frame[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer, isBinary: boolean) =>
      this.frames.push(isBinary ? { text: null, binary: d } : { text: d.toString('utf8'), binary: null }),
    );
  }

  static async connect(url: string, owner: Client): Promise<ConsoleClient> {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! },
    });
    const client = new ConsoleClient(ws);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    return client;
  }

  get output(): string {
    return this.frames.map((f) => f.binary?.toString('utf8') ?? '').join('');
  }

  json(): { event?: string; type?: string; args?: unknown[]; lines?: string[]; tty?: boolean }[] {
    return this.frames.filter((f) => f.text !== null).map((f) => JSON.parse(f.text!));
  }

  wings(event: string): unknown[][] {
    return this.json()
      .filter((m) => m.event === event)
      .map((m) => m.args ?? []);
  }

  send(data: string | object): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }
}

describe('console: scrollback then live output, the same framing on every driver, and the Wings framing', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let wsBase: string;

  const deploy = async (driver: 'process' | 'docker', name: string): Promise<string> => {
    const w = await owner.request('/v1/workloads', { method: 'POST', json: workload(`${name}-w`, driver) });
    assert.equal(w.status, 201, w.text);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name, workload_id: w.body.id, node_id: node.id },
    });
    assert.equal(created.status, 202, created.text);
    const id: string = created.body.instance.id;
    await waitFor(
      `${name} running`,
      async () => ((await owner.request(`/v1/instances/${id}`)).body.state === 'running' ? true : undefined),
      60_000,
    );
    return id;
  };

  before(async () => {
    ctx = await IdentityContext.start({
      env: { ...FAST_JOBS_ENV, HOSTPLANE_CONSOLE_SCROLLBACK_LINES: String(SCROLLBACK) },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, { HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock' });
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    wsBase = `${ctx.hub.url.replace('http', 'ws')}/v1/instances`;
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  for (const driver of ['process', 'docker'] as const) {
    it(`${driver}: a client first gets the last lines printed before it connected as scrollback, then live output`, async () => {
      const id = await deploy(driver, `sb-${driver}`);
      const c = await ConsoleClient.connect(`${wsBase}/${id}/console`, owner);
      await waitFor(
        'scrollback and live marker',
        async () => (c.json().some((m) => m.type === 'live') ? true : undefined),
        10_000,
      );
      // The configured default (HOSTPLANE_CONSOLE_SCROLLBACK_LINES=4): the last four lines, in order, before anything
      // live.
      assert.deepEqual(c.json()[0], { type: 'scrollback', lines: ['early-8', 'early-9', 'early-10', 'ready'] });
      assert.deepEqual(c.json()[1], { type: 'live', tty: driver === 'docker' });
      assert.equal(
        c.frames[0]!.text !== null && c.frames[1]!.text !== null,
        true,
        'both control frames come before any output',
      );

      c.send('typed-after-connect\n');
      await waitFor(
        'live echo',
        async () => (c.output.includes('got: typed-after-connect') ? true : undefined),
        10_000,
      );
      // Docker consoles are ttys: the typed line is echoed and lines end in CRLF; process consoles are plain pipes.
      if (driver === 'docker') assert.match(c.output, /got: typed-after-connect\r\n/);
      else assert.equal(c.output, 'got: typed-after-connect\n');

      // A resize reaches a tty (docker: the Engine API); a process console has none.
      c.send({ type: 'resize', cols: 132, rows: 43 });
      await new Promise((r) => setTimeout(r, 300));
      c.send('size\n');
      if (driver === 'docker')
        await waitFor('tty size', async () => (c.output.includes('43 132') ? true : undefined), 10_000);
      else
        await waitFor(
          'no tty',
          async () => (/stty: .*(not a tty|Inappropriate ioctl|standard input)/i.test(c.output) ? true : undefined),
          10_000,
        );
      c.ws.close();

      // ?scrollback= asks for another amount per connection; the scrollback now holds what was typed.
      const again = await ConsoleClient.connect(`${wsBase}/${id}/console?scrollback=20`, owner);
      await waitFor(
        'second scrollback',
        async () => (again.json().some((m) => m.type === 'live') ? true : undefined),
        10_000,
      );
      const lines = again.json()[0]!.lines!;
      assert.equal(lines[0], 'early-1');
      assert.ok(lines.includes('got: typed-after-connect'), JSON.stringify(lines));
      again.ws.close();
    });
  }

  it('wings framing: status, auth, send logs, send command, console output, stats, set state stop and start', async () => {
    const id = await deploy('process', 'wings-1');
    const c = await ConsoleClient.connect(`${wsBase}/${id}/console?protocol=wings`, owner);
    await waitFor('status', async () => (c.wings('status').length > 0 ? true : undefined), 10_000);
    assert.deepEqual(c.wings('status')[0], ['running']);
    c.send({ event: 'auth', args: [owner.accessToken] });
    await waitFor(
      'auth success',
      async () => (c.json().some((m) => m.event === 'auth success') ? true : undefined),
      10_000,
    );
    c.send({ event: 'send logs', args: [] });
    await waitFor(
      'history as console output',
      async () => (c.wings('console output').some((a) => a[0] === 'ready') ? true : undefined),
      10_000,
    );
    assert.deepEqual(
      c.wings('console output').map((a) => a[0]),
      ['early-8', 'early-9', 'early-10', 'ready'],
    );

    c.send({ event: 'send command', args: ['say hello'] });
    await waitFor(
      'command echoed',
      async () => (c.wings('console output').some((a) => a[0] === 'got: say hello') ? true : undefined),
      10_000,
    );

    c.send({ event: 'send stats', args: [] });
    await waitFor('stats', async () => (c.wings('stats').length > 0 ? true : undefined), 10_000);
    const stats = JSON.parse(c.wings('stats')[0]![0] as string);
    assert.equal(stats.state, 'running');
    assert.ok(stats.memory_bytes > 0, JSON.stringify(stats));
    assert.equal(typeof stats.network.rx_bytes, 'number');

    c.send({ event: 'set state', args: ['stop'] });
    await waitFor(
      'offline',
      async () => (c.wings('status').some((a) => a[0] === 'offline') ? true : undefined),
      20_000,
    );
    await waitFor(
      'stopped',
      async () => ((await owner.request(`/v1/instances/${id}`)).body.state === 'stopped' ? true : undefined),
      10_000,
    );
    assert.equal(c.ws.readyState, WebSocket.OPEN, 'the Wings socket outlives the run');
    c.send({ event: 'send command', args: ['nobody home'] });
    await waitFor(
      'not running error',
      async () => (c.wings('daemon error').some((a) => /not running/.test(String(a[0]))) ? true : undefined),
      10_000,
    ).catch((err: unknown) => assert.fail(`${String(err)}: ${JSON.stringify(c.json())}`));

    // The default framing refuses a console of an instance that does not run, with a status a client can act on.
    const refused = new WebSocket(`${wsBase}/${id}/console`, {
      headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! },
    });
    const status = await new Promise<number>((resolve, reject) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.once('open', () => reject(new Error('a console of a stopped instance opened')));
    });
    assert.equal(status, 409);

    c.send({ event: 'set state', args: ['start'] });
    await waitFor(
      'running again',
      async () => (c.wings('status').filter((a) => a[0] === 'running').length >= 2 ? true : undefined),
      30_000,
    );
    await waitFor(
      'console reattached',
      async () => {
        c.send({ event: 'send command', args: ['back again'] });
        await new Promise((r) => setTimeout(r, 300));
        return c.wings('console output').some((a) => a[0] === 'got: back again') ? true : undefined;
      },
      15_000,
    );

    c.send({ event: 'set state', args: ['explode'] });
    await waitFor(
      'bad state answered',
      async () =>
        c.wings('daemon error').some((a) => /start, stop, restart or kill/.test(String(a[0]))) ? true : undefined,
      10_000,
    );
    c.ws.close();

    // A token that may use the console but not manage the instance: commands yes, power no.
    const consoleOnly = await ctx.newApiToken(owner, { scopes: ['instances.view', 'instances.console'] });
    const limited = new WebSocket(`${wsBase}/${id}/console?protocol=wings`, {
      headers: { authorization: `Bearer ${consoleOnly.token}` },
    });
    const got: { event: string; args?: unknown[] }[] = [];
    limited.on('message', (d: Buffer) => got.push(JSON.parse(d.toString('utf8'))));
    await new Promise((r, j) => (limited.once('open', r), limited.once('error', j)));
    limited.send(JSON.stringify({ event: 'set state', args: ['stop'] }));
    await waitFor(
      'power refused',
      async () =>
        got.some((m) => m.event === 'daemon error' && /instances\.manage/.test(String(m.args?.[0]))) ? true : undefined,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await owner.request(`/v1/instances/${id}`)).body.state, 'running', 'the refused stop did nothing');
    limited.close();
  });

  it('wings framing: a login token about to expire gets token expiring, then token expired and the socket closes', async () => {
    const id = await deploy('process', 'wings-token');
    const claims = JSON.parse(Buffer.from(owner.accessToken!.split('.')[1]!, 'base64url').toString('utf8')) as {
      sub: string;
      sid: string;
    };
    const shortLived = await ctx.hub.app
      .get(Authenticator)
      .keyring.sign(JWT_TYPES.access, claims.sub, 3, { sid: claims.sid });
    const ws = new WebSocket(`${wsBase}/${id}/console?protocol=wings&access_token=${shortLived}`, {
      headers: { 'x-org-id': owner.defaultOrg! },
    });
    const events: string[] = [];
    ws.on('message', (d: Buffer) => events.push((JSON.parse(d.toString('utf8')) as { event: string }).event));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    assert.equal(await closed, 4401);
    assert.ok(
      events.indexOf('token expiring') >= 0 && events.indexOf('token expiring') < events.indexOf('token expired'),
      JSON.stringify(events),
    );
  });
});
