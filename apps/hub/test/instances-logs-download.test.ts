import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { FAST_JOBS_ENV, registerNode, runCommand, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';

const LINES = 320;
const HALF = 160;
const line = (n: number) => `line-${String(n).padStart(4, '0')} ${'x'.repeat(40)}`;
const expected = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));

/** Lines in bursts of 40 (so the agent rotates between bursts), half of them, then the rest once `$HOME/go` exists. */
function burstScript(prefixEcho = ''): string {
  const burst = (start: number) =>
    `i=${start}; while [ $i -lt ${start + 40} ]; do i=$((i+1)); printf 'line-%04d ${'x'.repeat(40)}\\n' $i; done; sleep 0.4`;
  const first = Array.from({ length: HALF / 40 }, (_, k) => burst(k * 40)).join('; ');
  const second = Array.from({ length: (LINES - HALF) / 40 }, (_, k) => burst(HALF + k * 40)).join('; ');
  return `${prefixEcho}${first}; while [ ! -f "$HOME/go" ]; do sleep 0.1; done; ${second}; while true; do sleep 1; done`;
}

const PROCESS_WORKLOAD = {
  name: 'chatty',
  driver: 'process',
  startup: burstScript(),
  variables: [],
  resources: { cpu_cores: 0.2, memory_bytes: 64 * 1024 * 1024, disk_bytes: 0 },
  stop: { type: 'signal', value: 'SIGKILL', grace_seconds: 1 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

const DOCKER_WORKLOAD = {
  name: 'chatty-docker',
  driver: 'docker',
  image: 'hostplane/busybox:test',
  startup:
    'i=0; while [ $i -lt 50 ]; do i=$((i+1)); printf "dock-%04d\\n" $i; done; sleep 1.5; echo late-1; echo late-2; while true; do sleep 1; done',
  variables: [],
  resources: { cpu_cores: 0.1, memory_bytes: 32 * 1024 * 1024, disk_bytes: 0 },
  stop: { type: 'signal', value: 'SIGKILL', grace_seconds: 1 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

function linesOf(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

describe('instance log download and clear on a real agent', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let member: Client;
  let node: TestNode;
  let id: string;
  let dockerId: string;
  let mid: string;

  const download = (query = '', as: Client = owner) => as.request(`/v1/instances/${id}/logs/download${query}`);
  const logDir = () => join(node.stateDir, 'instances', id, 'logs');
  const rotated = () => (existsSync(logDir()) ? readdirSync(logDir()) : []).filter((f) => /^output\.log\.\d+$/.test(f));

  before(async () => {
    ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV } });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    member = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'member');
    // Small logs, checked often: every burst of ~2 KB overflows the current file.
    node = await registerNode(owner, ctx.hub.url, {
      HOSTPLANE_AGENT_LOGS_MAX_BYTES: '1500',
      HOSTPLANE_AGENT_LOGS_KEEP: '50',
      HOSTPLANE_AGENT_LOGS_ROTATE_CHECK_MS: '100',
      HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock',
    });
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: PROCESS_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'chatty-1', workload_id: w.body.id, start: true },
    });
    assert.equal(created.status, 202, created.text);
    id = created.body.instance.id as string;
    // The first half written and rotated away, then a moment to split the history in time.
    await waitFor(
      'first half rotated',
      async () => (rotated().length >= 3 && (await download()).text.includes(line(HALF)) ? true : undefined),
      30_000,
      200,
    );
    await new Promise((r) => setTimeout(r, 300));
    mid = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(join(node.stateDir, 'instances', id, 'data', 'go'), '');
    await waitFor(
      'second half written',
      async () => ((await download()).text.includes(line(LINES)) ? true : undefined),
      30_000,
      200,
    );
    await new Promise((r) => setTimeout(r, 300));
  });
  after(async () => {
    // Workloads outlive their agent: delete them before it goes.
    for (const instance of [id, dockerId].filter(Boolean)) {
      await owner.request(`/v1/instances/${instance}`, { method: 'DELETE' });
      await waitFor(
        'deleted',
        async () => ((await owner.request(`/v1/instances/${instance}`)).status === 404 ? true : undefined),
        30_000,
        200,
      ).catch(() => undefined);
    }
    await node?.stop();
    await ctx?.close();
  });

  it('the download is every line of the rotated files and the current one, in order, as a text attachment', async () => {
    assert.ok(rotated().length >= 5, `the agent rotated the log (${rotated().join(', ')})`);
    const res = await download();
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; charset=utf-8/);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="chatty-1-\d{8}-\d{6}\.log"/);
    assert.equal(res.headers.get('x-log-time-precision'), 'file');
    assert.deepEqual(linesOf(res.text), expected(1, LINES));
  });

  it('lines= keeps the last N; since/until select the part of the history written in that time', async () => {
    assert.deepEqual(linesOf((await download('?lines=5')).text), expected(LINES - 4, LINES));
    assert.deepEqual(
      linesOf((await download(`?lines=${LINES * 10}`)).text),
      expected(1, LINES),
      'more lines than exist: all of them',
    );

    const before = linesOf((await download(`?until=${encodeURIComponent(mid)}`)).text);
    assert.deepEqual(
      before.slice(0, HALF),
      expected(1, HALF),
      'until= starts at the oldest line and has the first half',
    );
    assert.ok(!before.includes(line(LINES)), 'until= leaves out what was written after it');
    const afterMid = linesOf((await download(`?since=${encodeURIComponent(mid)}`)).text);
    assert.deepEqual(
      afterMid.slice(-(LINES - HALF)),
      expected(HALF + 1, LINES),
      'since= has the second half, in order',
    );
    assert.ok(!afterMid.includes(line(1)), 'since= leaves out the oldest files');
    assert.deepEqual(
      linesOf((await download(`?since=${encodeURIComponent(mid)}&lines=3`)).text),
      expected(LINES - 2, LINES),
    );
    const future = await download(`?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    assert.equal(future.status, 200);
    assert.equal(future.text, '');
  });

  it('?format=gzip is the same text gzip-compressed, as a .log.gz', async () => {
    const res = await fetch(`${ctx.hub.url}/v1/instances/${id}/logs/download?format=gzip&lines=100`, {
      headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/gzip');
    assert.match(res.headers.get('content-disposition') ?? '', /filename="chatty-1-\d{8}-\d{6}\.log\.gz"/);
    const text = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
    assert.equal(text, (await download('?lines=100')).text);
    assert.deepEqual(linesOf(text), expected(LINES - 99, LINES));
  });

  it('bad dates, a reversed range, lines out of range and unknown formats are 400 with the field named', async () => {
    for (const q of [
      '?since=yesterday',
      '?until=2026-13-40T00:00:00Z',
      '?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z',
      '?lines=0',
      '?lines=-3',
      '?lines=2000000',
      '?lines=ten',
      '?format=zip',
    ]) {
      const res = await download(q);
      assert.equal(res.status, 400, `${q}: ${res.text}`);
      assert.equal(res.body.code, 'validation_failed', q);
      assert.equal(typeof res.body.error, 'string', q);
    }
  });

  it('clear is refused to a member, empties the history for an owner, and is audited', async () => {
    assert.equal((await download('', member)).status, 200, 'a member may read the logs');
    const denied = await member.request(`/v1/instances/${id}/logs/clear`, { method: 'DELETE' });
    assert.equal(denied.status, 403, denied.text);
    assert.equal(denied.body.code, 'permission_denied');
    assert.ok(rotated().length > 0, 'a refused clear leaves the files');

    const res = await owner.request(`/v1/instances/${id}/logs/clear`, { method: 'DELETE' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.instance_id, id);
    assert.ok(res.body.files_removed >= 5, res.text);
    assert.ok(res.body.bytes_removed >= LINES * line(1).length, res.text);
    assert.deepEqual(rotated(), []);
    assert.equal((await download()).text, '');

    const entries = await ctx.auditEntries({ action: 'instance.logs.clear' });
    assert.ok(
      entries.some((e) => e.target_id === id && e.outcome === 'success'),
      'the clear is in the audit log',
    );
    assert.ok(
      entries.some((e) => e.target_id === id && e.outcome === 'denied'),
      "the member's refused attempt is in the audit log",
    );
  });

  it('a download in progress is cut off, not ended as complete, when the caller loses access', async () => {
    const reader = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'viewer');
    const big = `${'y'.repeat(99)}\n`.repeat(300_000);
    writeFileSync(join(logDir(), 'output.log.99'), big);
    const res = await fetch(`${ctx.hub.url}/v1/instances/${id}/logs/download`, {
      headers: { authorization: `Bearer ${reader.accessToken}`, 'x-org-id': reader.defaultOrg! },
    });
    assert.equal(res.status, 200);
    const body = res.body!.getReader();
    let received = (await body.read()).value?.length ?? 0;
    assert.ok(received > 0, 'the download started');
    const removed = await owner.request(`/v1/organizations/${ctx.admin.personalOrgId}/members/${reader.user.id}`, {
      method: 'DELETE',
    });
    assert.equal(removed.status, 204, removed.text);
    await new Promise((r) => setTimeout(r, 1500));
    let cut = false;
    try {
      for (;;) {
        const { done, value } = await body.read();
        if (done) break;
        received += value.length;
      }
    } catch {
      cut = true;
    }
    assert.ok(cut, 'the response broke off instead of ending cleanly');
    assert.ok(received < big.length, `only part of the log was sent (${received} of ${big.length} bytes)`);
  });

  it('a docker instance: Docker keeps its log, since/until cut per line, clear truncates it', async () => {
    const w = await owner.request('/v1/workloads', { method: 'POST', json: DOCKER_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'chatty-docker-1', workload_id: w.body.id, start: true },
    });
    assert.equal(created.status, 202, created.text);
    dockerId = created.body.instance.id as string;
    const get = (query = '') => owner.request(`/v1/instances/${dockerId}/logs/download${query}`);
    {
      await waitFor(
        'first batch',
        async () => ((await get()).text.includes('dock-0050') ? true : undefined),
        30_000,
        200,
      );
      await new Promise((r) => setTimeout(r, 300));
      const split = new Date().toISOString();
      await waitFor('late lines', async () => ((await get()).text.includes('late-2') ? true : undefined), 30_000, 200);

      const dockerLogs = JSON.parse(
        (
          await runCommand(
            'docker',
            ['inspect', '-f', '{{json .LogPath}}', `hostplane-${dockerId}`],
            process.env as Record<string, string>,
          )
        ).output,
      ) as string;
      const jsonLogs = readdirSync(join(dockerLogs, '..')).filter((f) => f.includes('-json.log'));
      assert.ok(jsonLogs.length >= 2, `Docker rotated the container's log at logs.max_bytes (${jsonLogs.join(', ')})`);
      const all = await get();
      assert.equal(all.headers.get('x-log-time-precision'), 'line');
      const dock = Array.from({ length: 50 }, (_, i) => `dock-${String(i + 1).padStart(4, '0')}`);
      assert.deepEqual(linesOf(all.text), [...dock, 'late-1', 'late-2'], 'tty CRLF comes out as LF, in order');
      assert.deepEqual(linesOf((await get('?lines=3')).text), ['dock-0050', 'late-1', 'late-2']);
      assert.deepEqual(linesOf((await get(`?since=${encodeURIComponent(split)}`)).text), ['late-1', 'late-2']);
      assert.deepEqual(linesOf((await get(`?until=${encodeURIComponent(split)}`)).text), dock);

      const cleared = await owner.request(`/v1/instances/${dockerId}/logs/clear`, { method: 'DELETE' });
      assert.equal(cleared.status, 200, cleared.text);
      assert.ok(cleared.body.bytes_removed > 0, cleared.text);
      assert.equal(cleared.body.files_removed, jsonLogs.length - 1, 'the rotated json logs are removed');
      assert.deepEqual(
        readdirSync(join(dockerLogs, '..')).filter((f) => f.includes('-json.log')),
        [dockerLogs.split('/').pop()],
      );
      assert.equal((await get()).text, '');
    }
  });
});
