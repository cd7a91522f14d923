import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { z } from 'zod';
import { ACCESS_RULE, type AccessRule } from '../access/access.decorators';
import { catalogEntry } from '../http/error-catalog';
import { API_SCHEMAS, type RouteSchemas } from '../http/route-schemas';
import { API_DOC, ApiDocOptions, honoursIdempotencyKey } from './api-doc';

export interface DocumentedRoute {
  method: string;
  path: string;
  doc: ApiDocOptions;
  schemas: RouteSchemas;
  /** The permission key the route needs, when it needs one. */
  permission?: string;
}

type JsonSchema = Record<string, unknown>;

/** Reads the routes of the given controller classes from Nest's metadata and our `ApiDoc`. */
export function collectRoutes(controllers: Function[]): DocumentedRoute[] {
  const routes: DocumentedRoute[] = [];
  for (const controller of controllers) {
    const base = normalizePaths(Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined);
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const methodPaths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (methodPaths === undefined || method === undefined) continue;
      const doc = Reflect.getMetadata(API_DOC, handler) as ApiDocOptions | undefined;
      if (!doc) throw new Error(`${controller.name}.${name} has no @ApiDoc: every route is documented`);
      const schemas = (Reflect.getMetadata(API_SCHEMAS, handler) as RouteSchemas | undefined) ?? {};
      const rule = (Reflect.getMetadata(ACCESS_RULE, handler) ?? Reflect.getMetadata(ACCESS_RULE, controller)) as
        AccessRule | undefined;
      const permission = rule?.kind === 'permission' ? rule.permission : undefined;
      for (const b of base) {
        for (const p of normalizePaths(methodPaths)) {
          routes.push({
            method: RequestMethod[method].toLowerCase(),
            path: joinPath(b, p),
            doc,
            schemas,
            ...(permission ? { permission } : {}),
          });
        }
      }
    }
  }
  return routes;
}

function normalizePaths(p: string | string[] | undefined): string[] {
  if (p === undefined) return [''];
  return Array.isArray(p) ? p : [p];
}

function joinPath(a: string, b: string): string {
  const joined = `/${a}/${b}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return joined === '' ? '/' : joined;
}

/** `/v1/nodes/:id` → `/v1/nodes/{id}` */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input');
  const props = (js.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((js.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' ? true : required.has(name) && s.default === undefined,
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

const IDEMPOTENCY_KEY_DESCRIPTION = [
  'A unique value (e.g. a UUID, 1–255 printable ASCII characters) that makes a retry safe.',
  'The same key with the same request from the same caller within 24 h answers the first response again (status, body, Location; header `Idempotent-Replayed: true`) without doing the work twice.',
  'The same key with a different request: 422 `idempotency_key_reused`. While the first request is still running: the retry waits up to 5 s for it, then 409 `idempotency_key_in_flight`.',
  'Responses with status 5xx and requests that failed validation are not kept: a retry runs again. See docs/api.md.',
].join(' ');

/**
 * The responses of a route's catalogued error codes, one per status: the codes in the `code`
 * enum of the error schema and each code's meaning in the description.
 */
function errorResponses(r: DocumentedRoute, written: Record<string, unknown>): Record<string, unknown> {
  const byStatus = new Map<number, { code: string; message: string }[]>();
  for (const code of r.doc.errors ?? []) {
    const entry = catalogEntry(code);
    if (!entry)
      throw new Error(
        `${r.method.toUpperCase()} ${r.path} lists the error code ${code}, which no *.errors.ts catalog declares`,
      );
    for (const status of [entry.status, ...(entry.otherStatuses ?? [])]) {
      const list = byStatus.get(status) ?? [];
      list.push({ code, message: entry.message });
      byStatus.set(status, list);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const handWritten = (written[status] as { description?: string } | undefined)?.description;
    out[status] = {
      description: [handWritten, ...codes.map((c) => `\`${c.code}\`: ${c.message}`)].filter(Boolean).join('\n\n'),
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Error' },
              { type: 'object', properties: { code: { enum: codes.map((c) => c.code) } } },
            ],
          },
        },
      },
    };
  }
  return out;
}

export function buildOpenApiDocument(
  routes: DocumentedRoute[],
  info: { version: string; serverUrl: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = toOpenApiPath(r.path);
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.doc.responses)) {
      responses[status] = {
        description: res.description,
        ...(res.schema || res.contentType
          ? {
              content: {
                [res.contentType ?? 'application/json']: res.schema ? { schema: jsonSchema(res.schema, 'output') } : {},
              },
            }
          : {}),
      };
    }
    Object.assign(responses, errorResponses(r, responses));
    responses.default = {
      description: 'Error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    const operation: Record<string, unknown> = {
      operationId: `${r.method}${p.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: r.doc.summary,
      ...(r.doc.description || r.doc.websocket
        ? {
            description: [r.doc.description, r.doc.websocket ? 'WebSocket: connect with an HTTP Upgrade request.' : '']
              .filter(Boolean)
              .join('\n\n'),
          }
        : {}),
      tags: r.doc.tags,
      parameters: [
        ...parametersOf(r.schemas.params, 'path'),
        ...parametersOf(r.schemas.query, 'query'),
        ...(honoursIdempotencyKey(r.method, r.doc) ? [{ $ref: '#/components/parameters/IdempotencyKey' }] : []),
      ],
      ...(r.schemas.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(r.schemas.body, 'input') } },
            },
          }
        : {}),
      responses,
      ...(r.permission ? { 'x-permission': r.permission } : {}),
      ...(r.doc.public ? { security: [] } : {}),
    };
    (paths[p] ??= {})[r.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hostplane hub API',
      version: info.version,
      description: 'Control plane for virtual machines, zones and containers on fleets of hosts.',
    },
    servers: [{ url: info.serverUrl }],
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A JWT access token or an hp_pat_ API token' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An hp_pat_ API token' },
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: IDEMPOTENCY_KEY_DESCRIPTION,
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'code'],
          properties: { error: { type: 'string' }, code: { type: 'string' } },
          additionalProperties: true,
        },
      },
    },
  };
}
