import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { FilesFixture, patternBytes, sha256 } from './support/instance-files';

let f: FilesFixture;
before(async () => { f = await FilesFixture.start(); });
after(() => f?.close());

it('measures', async () => {
  const data = patternBytes(128 * 1024 * 1024, 9);
  const auth = { authorization: `Bearer ${f.owner.accessToken}`, 'x-org-id': f.owner.defaultOrg! };
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  let t = Date.now();
  const put = await fetch(f.hubUrl + f.url('/content?path=big.bin'), { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: data });
  assert.equal(put.status, 200, await put.text());
  const putMs = Date.now() - t;
  t = Date.now();
  const res = await fetch(f.hubUrl + f.url('/download?path=big.bin'), { headers: auth });
  const got = Buffer.from(await res.arrayBuffer());
  const dlMs = Date.now() - t;
  assert.equal(sha256(got), sha256(data));
  const c = await fetch(f.hubUrl + f.url('/tus'), { method: 'POST', headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-length': String(data.length), 'upload-metadata': `path ${Buffer.from('tus.bin').toString('base64')}` } });
  t = Date.now();
  const p = await fetch(f.hubUrl + c.headers.get('location'), { method: 'PATCH', headers: { ...auth, 'tus-resumable': '1.0.0', 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: data });
  assert.equal(p.status, 204);
  const tusMs = Date.now() - t;
  clearInterval(timer);
  console.log('MEASURE', JSON.stringify({ mib: 128, putMBps: +(128 / (putMs / 1000)).toFixed(1), downloadMBps: +(128 / (dlMs / 1000)).toFixed(1), tusPatchMBps: +(128 / (tusMs / 1000)).toFixed(1), rssGrowthMiB: Math.round((peak - rss0) / 1048576) }));
});
