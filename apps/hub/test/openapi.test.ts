import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toOpenApiPath } from '../src/openapi/openapi.builder';
import { startTestHub, TestHub } from './support/test-hub';

describe('OpenAPI document', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('is OpenAPI 3.1 and lists every route the server registered', async () => {
    const res = await hub.request('/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    // Fastify adds a HEAD sibling to every GET; HEAD and OPTIONS routes declared on their own (TUS) are documented like
    // any route.
    const gets = new Set(hub.registeredRoutes.filter((r) => r.method === 'GET').map((r) => r.url));
    const registered = hub.registeredRoutes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
    assert.ok(registered.length >= 8, 'routes were captured');
    const missing = registered.filter((r) => !paths[toOpenApiPath(r.url)]?.[r.method.toLowerCase()]);
    assert.deepEqual(missing, [], 'every registered route is documented');
    const documented = Object.entries(paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    assert.equal(documented.length, registered.length, 'nothing documented that is not served');
  });

  it('documents request schemas from the validating zod schemas', async () => {
    const res = await hub.request('/openapi.json');
    const asset = res.body.paths['/docs/assets/{file}'].get;
    assert.deepEqual(
      asset.parameters.map((p: { name: string; in: string }) => [p.name, p.in]),
      [['file', 'path']],
    );
    assert.equal(res.body.paths['/health/ready'].get.security.length, 0, 'public routes need no credentials');
  });

  it('serves an interactive reference at /docs with its assets locally', async () => {
    const page = await hub.request('/docs');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.text, /swagger-ui-bundle\.js/);
    const bundle = await fetch(`${hub.url}/docs/assets/swagger-ui-bundle.js`);
    assert.equal(bundle.status, 200);
    assert.ok((await bundle.arrayBuffer()).byteLength > 100_000);
    const init = await hub.request('/docs/assets/init.js');
    assert.match(init.text, /openapi\.json/);
    const escape = await hub.request('/docs/assets/..%2F..%2Fpackage.json');
    assert.equal(escape.status, 404);
  });

  it('GET / points to the docs instead of a JSON 404', async () => {
    const res = await fetch(`${hub.url}/`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/docs');
    assert.deepEqual(((await res.json()) as { docs: string }).docs, '/docs');
  });
});
