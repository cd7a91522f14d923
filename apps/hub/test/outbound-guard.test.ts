import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { createServer as createNetServer, Server as NetServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decideOutbound, forbiddenReason, parseAllowList } from '../src/outbound/address-policy';
import { guardedConnect, OutboundRefusedError, OutboundUnreachableError } from '../src/outbound/guarded-connect';
import { OutboundHttp } from '../src/outbound/outbound-http';
import { Client, IdentityContext } from './support/identity';
import { OutboundTripwire } from './support/outbound-tripwire';
import { freePort } from './support/redis-server';
import { tempDir } from './support/test-env';

const listen = <S extends NetServer | HttpServer | HttpsServer>(server: S, host: string): Promise<number> =>
  new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as { port: number }).port)));

describe('the outbound guard decides on addresses', () => {
  const none = parseAllowList([]);

  it('refuses loopback, private, link-local, CGNAT, multicast, unspecified and their IPv6 wrappings', () => {
    const refused: Record<string, RegExp> = {
      '127.0.0.1': /loopback/,
      '127.1.2.3': /loopback/,
      '::1': /loopback/,
      '169.254.169.254': /link-local/,
      '10.0.0.1': /private/,
      '172.16.5.4': /private/,
      '192.168.1.1': /private/,
      '100.64.0.1': /CGNAT/,
      '100.100.100.200': /CGNAT/,
      '0.0.0.0': /unspecified/,
      '::': /unspecified/,
      '224.0.0.1': /multicast/,
      'ff02::1': /multicast/,
      '255.255.255.255': /reserved/,
      '::ffff:127.0.0.1': /loopback/,
      '::ffff:7f00:1': /loopback/,
      '::ffff:169.254.169.254': /link-local/,
      '64:ff9b::a00:1': /private/,
      '64:ff9b::127.0.0.1': /loopback/,
      '2002:7f00:1::1': /loopback/,
      '::127.0.0.1': /loopback/,
      'fd00::1': /unique local/,
      'fd00:ec2::254': /unique local/,
      'fe80::1': /link-local/,
      'fe80::1%eth0': /link-local/,
    };
    for (const [ip, why] of Object.entries(refused)) {
      assert.match(forbiddenReason(ip) ?? 'allowed', why, ip);
      assert.equal(decideOutbound(none, 'x', ip).allowed, false, ip);
    }
  });

  it('allows public unicast addresses (decision only: nothing is sent)', () => {
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      assert.equal(forbiddenReason(ip), null, ip);
      assert.deepEqual(decideOutbound(none, 's3.example.com', ip), { allowed: true }, ip);
    }
  });

  it("admits the operator's allow-list: CIDRs, addresses, host names and *.domain", () => {
    const allow = parseAllowList(['10.1.0.0/16', '127.0.0.2', 'minio.internal', '*.corp.example', '[fd00::5]']);
    assert.equal(decideOutbound(allow, 'x', '10.1.2.3').allowed, true);
    assert.equal(decideOutbound(allow, 'x', '10.2.0.1').allowed, false);
    assert.equal(decideOutbound(allow, 'x', '127.0.0.2').allowed, true);
    assert.equal(decideOutbound(allow, 'x', '::ffff:127.0.0.2').allowed, true, 'the mapped form of an allowed address');
    assert.equal(decideOutbound(allow, 'x', '127.0.0.1').allowed, false);
    assert.equal(decideOutbound(allow, 'minio.internal', '192.168.9.9').allowed, true);
    assert.equal(decideOutbound(allow, 's3.corp.example', '10.9.9.9').allowed, true);
    assert.equal(decideOutbound(allow, 'corp.example.evil.test', '10.9.9.9').allowed, false);
    assert.equal(decideOutbound(allow, 'x', 'fd00::5').allowed, true);
    assert.throws(() => parseAllowList(['10.0.0.0/33']), /prefix/);
    assert.throws(() => parseAllowList(['http://x']), /not an address/);
  });
});

describe('outbound requests from the hub (tripwire: only loopback can ever be reached)', () => {
  let tripwire: OutboundTripwire;
  let ctx: IdentityContext;
  let owner: Client;
  let trap: NetServer;
  let trapPort: number;
  let trapConnections = 0;
  let s3like: HttpServer;
  let s3likePort: number;
  const s3likeRequests: string[] = [];

  before(async () => {
    tripwire = OutboundTripwire.install();
    trap = createNetServer((socket) => {
      trapConnections += 1;
      socket.destroy();
    });
    trapPort = await listen(trap, '127.0.0.1');
    // The one real peer: an allow-listed fake S3 that refuses with a body the hub must not echo.
    s3like = createHttpServer((req, res) => {
      s3likeRequests.push(`${req.method} ${req.url}`);
      res.writeHead(403, { 'content-type': 'application/xml', connection: 'close' });
      res.end(
        '<?xml version="1.0"?><Error><Code>InvalidAccessKeyId</Code><Message>REMOTE-CONTROLLED TEXT</Message></Error>',
      );
    });
    s3likePort = await listen(s3like, '127.0.0.2');
    ctx = await IdentityContext.start({
      env: {
        HOSTPLANE_OUTBOUND_ALLOW: '127.0.0.2,127.0.0.3,127.0.0.4',
        HOSTPLANE_OUTBOUND_CONNECT_TIMEOUT_SECONDS: '1',
      },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
  });
  after(async () => {
    await ctx?.close();
    trap?.close();
    s3like?.close();
    tripwire?.restore();
  });

  const newConfig = async (endpoint: string) => {
    const res = await owner.request('/v1/backup-config', {
      method: 'POST',
      json: {
        name: `cfg ${Math.random()}`,
        endpoint,
        region: 'us-east-1',
        bucket: 'hp-backups',
        access_key_id: 'AKIAEXAMPLE',
        secret_access_key: 'secret-secret',
        force_path_style: true,
      },
    });
    assert.equal(res.status, 201, res.text);
    return res.body.id as string;
  };

  it('refuses S3 endpoints on loopback, metadata, private, CGNAT and wrapped addresses without a connection', async () => {
    tripwire.names.set('rebind.test', ['127.0.0.1']);
    const endpoints = [
      `http://127.0.0.1:${trapPort}`,
      `http://[::1]:${trapPort}`,
      'http://169.254.169.254',
      'http://10.0.0.1:9000',
      'http://100.64.0.1',
      `http://[::ffff:127.0.0.1]:${trapPort}`,
      'http://[fd00::1]',
      `http://rebind.test:${trapPort}`,
    ];
    for (const endpoint of endpoints) {
      const id = await newConfig(endpoint);
      const activate = await owner.request(`/v1/backup-config/${id}/activate`, { method: 'POST' });
      assert.equal(activate.status, 422, `${endpoint}: ${activate.text}`);
      assert.equal(activate.body.code, 'outbound_refused', endpoint);
      assert.match(activate.body.error, /HOSTPLANE_OUTBOUND_ALLOW/);
      const buckets = await owner.request(`/v1/backup-config/s3-buckets?config_id=${id}`);
      assert.equal(buckets.status, 422, `${endpoint}: ${buckets.text}`);
      assert.equal(buckets.body.code, 'outbound_refused');
    }
    assert.equal(trapConnections, 0, 'the loopback trap was never reached');
    assert.deepEqual(tripwire.opened, [], 'no socket was opened');
    assert.deepEqual(tripwire.blocked, [], 'the guard, not the tripwire, refused');
    assert.equal((await owner.request('/v1/backup-config')).status, 404, 'nothing was activated');
  });

  it('reaches an allow-listed endpoint and summarises its error instead of echoing it', async () => {
    const id = await newConfig(`http://127.0.0.2:${s3likePort}`);
    const buckets = await owner.request(`/v1/backup-config/s3-buckets?config_id=${id}`);
    assert.equal(buckets.status, 502, buckets.text);
    assert.equal(buckets.body.code, 'storage_error');
    assert.match(buckets.body.error, /access key id is not known to the storage \(HTTP 403\)/);
    assert.doesNotMatch(buckets.text, /REMOTE-CONTROLLED|<Code>|<Message>|InvalidAccessKeyId/);
    const activate = await owner.request(`/v1/backup-config/${id}/activate`, { method: 'POST' });
    assert.equal(activate.status, 422);
    assert.equal(activate.body.code, 'storage_unreachable');
    assert.doesNotMatch(activate.text, /REMOTE-CONTROLLED|<Code>|<Message>/);
    assert.ok(s3likeRequests.length >= 2, 'the allow-listed receiver got the requests');
    assert.ok(tripwire.opened.every((a) => a.startsWith('127.0.0.2:')));
  });

  it('a closed port and a filtered one give the same answer after the same connect timeout', async () => {
    const closedPort = await freePort();
    tripwire.blackHoles.add('127.0.0.4');
    const timed = async (endpoint: string) => {
      const id = await newConfig(endpoint);
      const started = Date.now();
      const res = await owner.request(`/v1/backup-config/s3-buckets?config_id=${id}`);
      return { res, ms: Date.now() - started };
    };
    const closed = await timed(`http://127.0.0.3:${closedPort}`);
    const filtered = await timed(`http://127.0.0.4:${closedPort}`);
    for (const { res } of [closed, filtered]) {
      assert.equal(res.status, 502, res.text);
      assert.equal(res.body.code, 'storage_error');
    }
    assert.equal(closed.res.body.error.replace('127.0.0.3', 'H'), filtered.res.body.error.replace('127.0.0.4', 'H'));
    assert.match(closed.res.body.error, /could not connect to 127\.0\.0\.3:\d+/);
    // Both wait out the 1 s connect timeout: a refused connect is not answered sooner.
    assert.ok(closed.ms >= 950 && filtered.ms >= 950, `closed ${closed.ms} ms, filtered ${filtered.ms} ms`);
    assert.ok(Math.abs(closed.ms - filtered.ms) < 600, `closed ${closed.ms} ms, filtered ${filtered.ms} ms`);
  });

  it('the fetch client checks the address it connects to, not one resolved earlier', async () => {
    const http = ctx.hub.app.get(OutboundHttp);
    tripwire.names.set('flip.test', ['127.0.0.2']);
    const ok = await http.fetch(`http://flip.test:${s3likePort}/probe`);
    assert.equal(ok.status, 403);
    await ok.text();
    // The name now rebinds to loopback: the next connection is checked again and refused.
    tripwire.names.set('flip.test', ['127.0.0.1']);
    await assert.rejects(http.fetch(`http://flip.test:${s3likePort}/probe`), OutboundRefusedError);
    await assert.rejects(http.fetch(`http://169.254.169.254/latest/meta-data/`), OutboundRefusedError);
    await assert.rejects(http.fetch(`http://[::1]:${trapPort}/`), OutboundRefusedError);
    assert.equal(trapConnections, 0);
    assert.deepEqual(tripwire.blocked, []);
  });

  it('HTTPS through the guarded agents verifies the certificate against the name asked for', async () => {
    const dir = tempDir('hostplane-tls-');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=tls.test',
        '-addext',
        'subjectAltName=DNS:tls.test',
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_req, res) => {
      // A new connection per request, so each one goes through the guard (kept-alive sockets were checked when opened).
      res.setHeader('connection', 'close');
      res.end('tls ok');
    });
    const port = await listen(server, '127.0.0.2');
    const { httpsAgent } = ctx.hub.app.get(OutboundHttp).nodeAgents();
    const get = (host: string, ca?: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host, port, path: '/bucket?list-type=2', agent: httpsAgent, ca }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      tripwire.names.set('tls.test', ['127.0.0.2']);
      tripwire.names.set('other.test', ['127.0.0.2']);
      assert.equal(await get('tls.test', cert), 'tls ok');
      await assert.rejects(
        get('tls.test'),
        OutboundUnreachableError,
        'an untrusted certificate is refused (rejectUnauthorized stays on)',
      );
      await assert.rejects(
        get('other.test', cert),
        OutboundUnreachableError,
        'the certificate must match the name asked for',
      );
      tripwire.names.set('tls.test', ['127.0.0.1']);
      await assert.rejects(get('tls.test', cert), OutboundRefusedError);
    } finally {
      httpsAgent.destroy();
      server.close();
    }
  });

  it('with a broken guard the tripwire, not the network, stops a non-loopback connect', async () => {
    // Everything allowed: only the tripwire stands between the test and the network.
    const open = parseAllowList(['0.0.0.0/0', '::/0']);
    await assert.rejects(guardedConnect(open, { host: '10.0.0.1', port: 9 }, 200), OutboundUnreachableError);
    assert.deepEqual(tripwire.blocked, ['10.0.0.1:9']);
    tripwire.blocked.length = 0;
  });
});
