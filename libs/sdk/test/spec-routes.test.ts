import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { HostplaneClient } from '../src/client';
import type * as HubIdentity from '../../../apps/hub/test/support/identity';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { IdentityContext } = require(
  join(__dirname, '../../../../apps/hub/dist/test/support/identity.js'),
) as typeof HubIdentity;

interface SpecOperation {
  parameters?: ({ name: string; in: string; schema?: { format?: string; pattern?: string } } | { $ref: string })[];
  description?: string;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type Spec = { paths: Record<string, Record<string, SpecOperation>>; components: Record<string, unknown> };

const spec = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')) as Spec;
const METHODS = {
  get: 'GET',
  post: 'POST',
  put: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  head: 'HEAD',
  options: 'OPTIONS',
} as const;

/** A value a path parameter's schema accepts. */
function sampleFor(schema: { format?: string; pattern?: string } | undefined): string {
  if (schema?.format === 'uuid') return randomUUID();
  for (const candidate of ['zones.list', 'a1', '12', 'sample']) {
    if (!schema?.pattern || new RegExp(schema.pattern).test(candidate)) return candidate;
  }
  return 'a1';
}

function pathParams(op: SpecOperation): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of op.parameters ?? []) if ('in' in p && p.in === 'path') out[p.name] = sampleFor(p.schema);
  return out;
}

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'hostplane-spec', components: spec.components });
function validatorFor(schema: unknown) {
  return ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"hostplane-spec#/components/')));
}

describe('every route of the spec through the generated client', () => {
  it('each path and method has a typed call that sends that method to that URL', async () => {
    const seen: string[] = [];
    const client = new HostplaneClient({
      baseUrl: 'http://hub.invalid',
      token: 'hp_pat_x',
      fetch: async (input) => {
        const request = input as Request;
        seen.push(`${request.method} ${new URL(request.url).pathname}`);
        return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
      },
    });
    const expected: string[] = [];
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const params = pathParams(op);
        const call = client.api[METHODS[method as keyof typeof METHODS]] as unknown as (
          path: string,
          init: unknown,
        ) => Promise<unknown>;
        await call(path, { params: { path: params } });
        expected.push(
          `${METHODS[method as keyof typeof METHODS]} ${path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k]))}`,
        );
      }
    }
    assert.ok(expected.length >= 100, `${expected.length} operations`);
    assert.deepEqual(seen, expected);
  });

  describe('answers of a real hub validate against the spec', () => {
    let ctx: HubIdentity.IdentityContext;
    before(async () => {
      ctx = await IdentityContext.start();
    });
    after(() => ctx?.close());

    it('every JSON GET route with no path parameter, as the platform admin', async () => {
      const admin = ctx.admin;
      const client = new HostplaneClient({
        baseUrl: ctx.hub.url,
        token: admin.credential.bearer,
        orgId: admin.personalOrgId,
      });
      let checked = 0;
      const failures: string[] = [];
      for (const [path, methods] of Object.entries(spec.paths)) {
        const op = methods.get;
        if (!op || path.includes('{') || path === '/v1/events/stream' || op.description?.includes('WebSocket'))
          continue;
        if (!op.responses['200']?.content?.['application/json']) continue;
        const { data, error, response } = (await client.api.GET(path as '/v1/nodes', {})) as {
          data?: unknown;
          error?: unknown;
          response: Response;
        };
        const status = String(response.status);
        const documented = op.responses[status] ?? op.responses.default;
        const schema = documented?.content?.['application/json']?.schema;
        if (!schema) {
          failures.push(`GET ${path}: ${status} is not documented`);
          continue;
        }
        const validate = validatorFor(schema);
        if (!validate(data ?? error)) failures.push(`GET ${path} ${status}: ${ajv.errorsText(validate.errors)}`);
        checked++;
      }
      assert.deepEqual(failures, []);
      assert.ok(checked >= 20, `${checked} routes checked`);
    });
  });
});
