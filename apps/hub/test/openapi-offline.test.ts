import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildOfflineOpenApiDocument } from '../src/openapi/offline-document';
import { startTestHub, TestHub } from './support/test-hub';

describe('the OpenAPI document built offline (what the SDK is generated from)', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it('equals the document a running hub serves, servers aside', async () => {
    const served = (await hub.request('/openapi.json')).body as Record<string, unknown>;
    const offline = buildOfflineOpenApiDocument(hub.config.http.publicUrl);
    assert.deepEqual(Object.keys(offline.paths as object).sort(), Object.keys(served.paths as object).sort());
    assert.deepEqual(offline, served);
  });
});
