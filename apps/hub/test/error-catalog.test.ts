import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Module } from '@nestjs/common';
import { Public } from '../src/access/access.decorators';
import { ERROR_CATALOGS } from '../src/error-catalogs';
import { DomainError } from '../src/http/errors';
import { ApiDoc } from '../src/openapi/api-doc';
import { allCataloguedErrors, catalogEntry } from '../src/http/error-catalog';
import { FASTIFY_ERRORS, HTTP_CODES } from '../src/http/exception.filter';
import { OpenApiService } from '../src/openapi/openapi.service';
import { toOpenApiPath } from '../src/openapi/openapi.builder';
import { scanErrorSites } from './support/error-scan';
import { startTestHub, TestHub } from './support/test-hub';

const SRC = join(__dirname, '../../src');
const DIST_SRC = join(__dirname, '../src');

function filesNamed(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesNamed(p, suffix) : name.endsWith(suffix) ? [p] : [];
  });
}

describe('error catalog', () => {
  it('every code a DomainError is constructed with in the source is catalogued, with that status', () => {
    const sites = scanErrorSites(SRC);
    assert.ok(sites.length > 100, `the scan found the error constructions (${sites.length})`);
    const problems = sites.flatMap((s) => {
      const entry = catalogEntry(s.code);
      if (!entry) return [`${s.where}: ${s.code} is in no *.errors.ts catalog`];
      const statuses = [entry.status, ...(entry.otherStatuses ?? [])];
      return s.status === null || statuses.includes(s.status)
        ? []
        : [`${s.where}: ${s.code} answers ${s.status}, its catalog says ${statuses.join('/')}`];
    });
    assert.deepEqual(problems, []);
  });

  it('the codes the exception filter gives framework errors are catalogued', () => {
    for (const code of [
      ...Object.values(HTTP_CODES),
      ...Object.values(FASTIFY_ERRORS).map((e) => e.code),
      'internal_error',
      'bad_request',
    ]) {
      assert.ok(catalogEntry(code), `${code} is catalogued`);
    }
  });

  it('every *.errors.ts catalog is listed in error-catalogs.ts, so all are known before the first request', async () => {
    for (const file of filesNamed(DIST_SRC, '.errors.js')) await import(file);
    const listed = new Set(Object.values(ERROR_CATALOGS).flatMap((c) => Object.keys(c)));
    const unlisted = allCataloguedErrors()
      .filter((e) => !listed.has(e.code))
      .map((e) => `${e.domain}: ${e.code}`);
    assert.deepEqual(unlisted, []);
  });
});

/** A route that answers with a code no catalog declares, as an agent's unknown code would be passed on. */
@Controller('test-errors')
class UncataloguedController {
  @Get('uncatalogued')
  @Public()
  @ApiDoc({ summary: 'uncatalogued', tags: ['test'], public: true, responses: { 200: { description: 'never' } } })
  fail(): never {
    throw new DomainError('the agent said something new', 'brand_new_agent_code', 502);
  }
}

@Module({ controllers: [UncataloguedController] })
class UncataloguedModule {}

describe('error codes in the OpenAPI document and the exception filter', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ extraModules: [UncataloguedModule] });
  });
  after(() => hub.close());

  it("lists every code of a route's catalog under that route, with its status", async () => {
    const doc = (await hub.request('/openapi.json')).body as {
      paths: Record<
        string,
        Record<
          string,
          {
            responses: Record<
              string,
              { content?: Record<string, { schema?: { allOf?: { properties?: { code?: { enum?: string[] } } }[] } }> }
            >;
          }
        >
      >;
    };
    const routes = hub.app.get(OpenApiService).documentedRoutes();
    const withErrors = routes.filter((r) => (r.doc.errors ?? []).length > 0);
    assert.ok(withErrors.length >= 20, `routes declare their error codes (${withErrors.length})`);
    const missing: string[] = [];
    for (const r of withErrors) {
      const op = doc.paths[toOpenApiPath(r.path)]?.[r.method];
      for (const code of r.doc.errors ?? []) {
        const status = String(catalogEntry(code)?.status);
        const listed =
          op?.responses[status]?.content?.['application/json']?.schema?.allOf?.[1]?.properties?.code?.enum ?? [];
        if (!listed.includes(code)) missing.push(`${r.method.toUpperCase()} ${r.path}: ${status} ${code}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('the filter reports a code no catalog declares, and not the catalogued ones', async () => {
    const unknownCodeLogs = () => hub.logs.entries().filter((l) => l.msg === 'error code is not in any error catalog');
    const refused = await hub.request('/v1/nodes', { headers: { authorization: 'Bearer hp_pat_wrong' } });
    assert.equal(refused.status, 401);
    assert.ok(catalogEntry((refused.body as { code: string }).code));
    assert.deepEqual(unknownCodeLogs(), []);
    const res = await hub.request('/test-errors/uncatalogued');
    assert.deepEqual([res.status, (res.body as { code: string }).code], [502, 'brand_new_agent_code']);
    assert.deepEqual(
      unknownCodeLogs().map((l) => l.code),
      ['brand_new_agent_code'],
    );
  });
});
