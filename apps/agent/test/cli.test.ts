import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { driverInfo } from '@hostplane/protocol';
import { JobJournal } from '../src/jobs/journal';
import { AGENT_MAIN, tempDir } from './support/agent-process';

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AGENT_MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOSTPLANE_AGENT_CONFIG: '/dev/null', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const registrationRequest = z.object({
  token: z.string(),
  hostname: z.string().min(1),
  os: z.string(),
  arch: z.string(),
  agent_version: z.string(),
  drivers: z.array(driverInfo),
});

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text);
}

describe('register and status', () => {
  const nodeId = randomUUID();
  const agentToken = `hp_agt_${randomUUID().replace(/-/g, '')}`;
  const requests: z.infer<typeof registrationRequest>[] = [];
  let server: Server;
  let hubUrl: string;

  before(async () => {
    server = createServer((req, res) => {
      void (async () => {
        res.setHeader('content-type', 'application/json');
        if (req.method !== 'POST' || req.url !== '/v1/agents/register') {
          res.statusCode = 404;
          return res.end(JSON.stringify({ error: 'not found', code: 'not_found' }));
        }
        const body = registrationRequest.parse(await readBody(req));
        requests.push(body);
        if (body.token !== 'hp_reg_good') {
          res.statusCode = 401;
          return res.end(
            JSON.stringify({ error: 'registration token is expired or used up', code: 'invalid_registration_token' }),
          );
        }
        res.statusCode = 201;
        res.end(JSON.stringify({ node_id: nodeId, agent_token: agentToken, hub_url: hubUrl }));
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  it('registers: saves the agent token 0600 in a 0700 state dir and never prints it', async () => {
    const stateDir = join(tempDir(), 'nested', 'state');
    const r = await runCli(['register', '--hub', `${hubUrl}/`, '--token', 'hp_reg_good'], {
      HOSTPLANE_AGENT_STATE_DIR: stateDir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`registered as node ${nodeId} with ${hubUrl}`));
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(agentToken));
    const file = join(stateDir, 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      hub_url: hubUrl,
      node_id: nodeId,
      agent_token: agentToken,
    });
    const sent = requests.at(-1);
    assert.equal(sent?.os, 'linux');
    assert.equal(sent?.drivers[0]?.name, 'process');

    const again = await runCli(['register', '--hub', hubUrl, '--token', 'hp_reg_good'], {
      HOSTPLANE_AGENT_STATE_DIR: stateDir,
    });
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`already registered as node ${nodeId}.*--force`));
    assert.equal(
      (
        await runCli(['register', '--hub', hubUrl, '--token', 'hp_reg_good', '--force'], {
          HOSTPLANE_AGENT_STATE_DIR: stateDir,
        })
      ).code,
      0,
    );
  });

  it('prints the hub message and exits 1 when the hub refuses the token', async () => {
    const stateDir = join(tempDir(), 'state');
    const r = await runCli(['register', '--hub', hubUrl, '--token', 'hp_reg_expired'], {
      HOSTPLANE_AGENT_STATE_DIR: stateDir,
    });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'register: registration token is expired or used up (invalid_registration_token)\n');
    assert.equal(existsSync(join(stateDir, 'credentials.json')), false);
  });

  it('explains a hub that cannot be reached and a token of the wrong kind', async () => {
    const stateDir = join(tempDir(), 'state');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await runCli(['register', '--hub', deadUrl, '--token', 'hp_reg_good'], {
      HOSTPLANE_AGENT_STATE_DIR: stateDir,
    });
    assert.equal(down.code, 1);
    assert.equal(down.stderr, `register: cannot reach the hub at ${deadUrl}: ECONNREFUSED\n`);
    const wrongKind = await runCli(['register', '--hub', hubUrl, '--token', 'hp_pat_something'], {
      HOSTPLANE_AGENT_STATE_DIR: stateDir,
    });
    assert.equal(wrongKind.code, 2);
    assert.match(wrongKind.stderr, /must be a registration token starting with hp_reg_/);
  });

  it('status shows the registration and journal counts, never the token', async () => {
    const stateDir = join(tempDir(), 'state');
    assert.equal(
      (await runCli(['register', '--hub', hubUrl, '--token', 'hp_reg_good'], { HOSTPLANE_AGENT_STATE_DIR: stateDir }))
        .code,
      0,
    );
    const journal = await JobJournal.open(stateDir, { retentionDays: 7 });
    const done = randomUUID();
    await journal.recordAccepted({ jobId: randomUUID(), kind: 'agent.selftest', resource: null, attempt: 1 });
    await journal.recordAccepted({ jobId: done, kind: 'agent.selftest', resource: null, attempt: 1 });
    await journal.recordOutcome({ job_id: done, status: 'cancelled', finished_at: new Date().toISOString() });
    await journal.close();

    const r = await runCli(['status'], { HOSTPLANE_AGENT_STATE_DIR: stateDir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`registered: +node ${nodeId} with ${hubUrl}`));
    assert.match(r.stdout, /process: +not running/);
    assert.match(r.stdout, /jobs: +1 unfinished, 1 results awaiting the hub, 0 delivered/);
    assert.doesNotMatch(r.stdout, /hp_agt_/);

    const unregistered = await runCli(['status'], { HOSTPLANE_AGENT_STATE_DIR: join(tempDir(), 'empty') });
    assert.match(unregistered.stdout, /registered: +no \(run hostplane-agent register/);
  });
});
