#!/usr/bin/env node
// `npm start`, after services and build: runs the hub in development mode and one agent on this
// machine, connected to it. On the first run it bootstraps a development admin (credentials in
// .hostplane/dev-admin.json, 0600) and registers the local agent (state in .hostplane/agent).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dataDir = process.env.HOSTPLANE_DATA_DIR ?? join(root, '.hostplane');
const port = process.env.HOSTPLANE_PORT ?? '8080';
const hubUrl = `http://127.0.0.1:${port}`;
const adminFile = join(dataDir, 'dev-admin.json');
const agentState = join(dataDir, 'agent');
const children = [];

function say(line) {
  process.stderr.write(`[hostplane] ${line}\n`);
}

function run(name, args, env) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  child.on('exit', (code, signal) => {
    say(`${name} exited (${signal ?? code})`);
    shutdown(code ?? 1);
  });
  return child;
}

let stopping = false;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1500).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function api(path, init = {}) {
  const res = await fetch(hubUrl + path, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${body.error ?? ''}`);
  return body;
}

async function waitReady() {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`${hubUrl}/health/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the hub did not become ready within 2 minutes');
}

async function adminSession() {
  const status = await api('/v1/auth/bootstrap/status');
  if (status.needed) {
    const creds = { email: 'admin@hostplane.local', password: `Dev-${randomBytes(9).toString('base64url')}-Hub` };
    const boot = await api('/v1/auth/bootstrap', {
      method: 'POST',
      body: JSON.stringify({ ...creds, organization_name: 'Local' }),
    });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(adminFile, JSON.stringify({ ...creds, organization_id: boot.organization.id }, null, 2) + '\n', {
      mode: 0o600,
    });
    say(`development admin ${creds.email} created; its password is in ${adminFile}`);
    return { token: boot.access_token, org: boot.organization.id };
  }
  if (!existsSync(adminFile)) return null;
  const creds = JSON.parse(readFileSync(adminFile, 'utf8'));
  const login = await api('/v1/auth/login', {
    method: 'POST',
    body: JSON.stringify({ email: creds.email, password: creds.password }),
  });
  return { token: login.access_token, org: creds.organization_id };
}

async function ensureLocalAgent() {
  const agentEnv = {
    HOSTPLANE_AGENT_STATE_DIR: agentState,
    HOSTPLANE_AGENT_HUB_URL: hubUrl,
    HOSTPLANE_AGENT_CONFIG: '/dev/null',
  };
  if (!existsSync(join(agentState, 'credentials.json'))) {
    const admin = await adminSession();
    if (!admin) {
      say(
        `not starting a local agent: the hub already has users and ${adminFile} is missing; register one with POST /v1/nodes/register-token`,
      );
      return false;
    }
    const reg = await api('/v1/nodes/register-token', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}`, 'x-org-id': admin.org },
      body: JSON.stringify({ max_uses: 1, labels: { local: 'true' }, description: `npm start on ${hostname()}` }),
    });
    await new Promise((resolve, reject) => {
      const r = spawn(
        process.execPath,
        ['apps/agent/dist/src/main.js', 'register', '--hub', hubUrl, '--token', reg.token],
        {
          cwd: root,
          env: { ...process.env, ...agentEnv },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      r.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`agent register exited ${code}`))));
    });
  }
  run('agent', ['apps/agent/dist/src/main.js', 'run'], agentEnv);
  return true;
}

run('hub', ['apps/hub/dist/src/main.js', ...process.argv.slice(2)], {
  HOSTPLANE_ENV: process.env.HOSTPLANE_ENV ?? 'development',
  HOSTPLANE_DATA_DIR: dataDir,
  HOSTPLANE_PORT: port,
});
try {
  await waitReady();
  const agent = await ensureLocalAgent();
  say(`hub ready at ${hubUrl} (API reference: ${hubUrl}/docs)${agent ? '; local agent running' : ''}`);
} catch (err) {
  say(`start-up failed: ${err.message}`);
  shutdown(1);
}
