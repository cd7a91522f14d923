import { z } from 'zod';
import { corsSettings, headerRules, listenAddress, pathPattern, port, targetHost, vmId } from '@hostplane/protocol';
import { displayName } from '../http/fields';
import type { ReverseProxyHostEntity } from './reverse-proxy-host.entity';

export const nodeParams = z.object({ id: z.uuid({ message: 'node id must be a UUID' }) });
export const hostParams = nodeParams.extend({ hostId: z.uuid({ message: 'host id must be a UUID' }) });
export const routeParams = hostParams.extend({ routeId: z.uuid({ message: 'route id must be a UUID' }) });
export const hostActionParams = hostParams.extend({ action: z.enum(['enable', 'disable', 'restart']) });

const tls = z
  .object({
    cert_pem: z.string().min(1).max(65_536).describe('The certificate (chain) in PEM'),
    key_pem: z.string().min(1).max(65_536).describe('Its private key in PEM; stored encrypted, never returned'),
  })
  .strict();

export const createHostBody = z
  .object({
    name: displayName(100),
    listen_host: listenAddress.default('0.0.0.0'),
    listen_port: port,
    enabled: z.boolean().default(true),
    tls: tls.nullable().default(null),
    cors: corsSettings.nullable().default(null),
    timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(30_000)
      .describe('A backend slower than this is answered 504'),
  })
  .strict();
export type CreateHostBody = z.infer<typeof createHostBody>;

export const updateHostBody = z
  .object({
    name: displayName(100).optional(),
    listen_host: listenAddress.optional(),
    listen_port: port.optional(),
    tls: tls.nullable().optional().describe('null removes TLS; leave out to keep the stored certificate'),
    cors: corsSettings.nullable().optional(),
    timeout_ms: z.number().int().min(100).max(600_000).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateHostBody = z.infer<typeof updateHostBody>;

const target = {
  target_vm_id: vmId.nullable().optional().describe('A Parallels VM by UUID: reached at its current address'),
  target_host: targetHost.nullable().optional().describe('A fixed IP address or host name'),
  target_port: port,
};
const oneTarget = (t: { target_vm_id?: string | null; target_host?: string | null }) =>
  (t.target_vm_id === null || t.target_vm_id === undefined) !== (t.target_host === null || t.target_host === undefined);
const ONE_TARGET = { message: 'name exactly one of target_vm_id and target_host', path: ['target_vm_id'] };

export const createRouteBody = z
  .object({
    path_pattern: pathPattern
      .default('^/')
      .describe('A regular expression tested against the path and query; the first matching route serves'),
    ...target,
    request_headers: headerRules.optional(),
    response_headers: headerRules.optional(),
    forwarded_headers: z.boolean().default(true).describe('Add X-Forwarded-For, -Proto and -Host'),
    position: z.number().int().min(0).max(255).optional().describe('Where in the order (0 = first); last by default'),
  })
  .strict()
  .refine(oneTarget, ONE_TARGET);
export type CreateRouteBody = z.infer<typeof createRouteBody>;

export const updateRouteBody = z
  .object({
    path_pattern: pathPattern.optional(),
    target_vm_id: target.target_vm_id,
    target_host: target.target_host,
    target_port: port.optional(),
    request_headers: headerRules.optional(),
    response_headers: headerRules.optional(),
    forwarded_headers: z.boolean().optional(),
    position: z.number().int().min(0).max(255).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateRouteBody = z.infer<typeof updateRouteBody>;

export const createTcpRouteBody = z
  .object({ listen_port: port, ...target })
  .strict()
  .refine(oneTarget, ONE_TARGET);
export type CreateTcpRouteBody = z.infer<typeof createTcpRouteBody>;

export const updateTcpRouteBody = z
  .object({
    listen_port: port.optional(),
    target_vm_id: target.target_vm_id,
    target_host: target.target_host,
    target_port: port.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateTcpRouteBody = z.infer<typeof updateTcpRouteBody>;

const headerRulesOut = z.object({ add: z.record(z.string(), z.string()), remove: z.array(z.string()) });
export const routeResponse = z.object({
  id: z.uuid(),
  path_pattern: z.string(),
  target_vm_id: z.string().nullable(),
  target_host: z.string().nullable(),
  target_port: z.number().int(),
  request_headers: headerRulesOut,
  response_headers: headerRulesOut,
  forwarded_headers: z.boolean(),
});
export const tcpRouteResponse = z.object({
  id: z.uuid(),
  listen_port: z.number().int(),
  target_vm_id: z.string().nullable(),
  target_host: z.string().nullable(),
  target_port: z.number().int(),
});
export const hostResponse = z.object({
  id: z.uuid(),
  node_id: z.uuid(),
  name: z.string(),
  enabled: z.boolean(),
  listen_host: z.string(),
  listen_port: z.number().int(),
  has_tls: z.boolean().describe('A certificate and key are stored (encrypted); they are never shown'),
  tls_fingerprint: z.string().nullable().describe("The certificate's SHA-256 fingerprint"),
  tls_not_after: z.string().nullable(),
  cors: z
    .object({
      allowed_origins: z.array(z.string()),
      allowed_methods: z.array(z.string()),
      allowed_headers: z.array(z.string()),
      allow_credentials: z.boolean(),
      max_age_seconds: z.number().int(),
    })
    .nullable(),
  timeout_ms: z.number().int(),
  routes: z.array(routeResponse),
  tcp_routes: z.array(tcpRouteResponse),
  created_at: z.string(),
  updated_at: z.string(),
  operation_id: z
    .uuid()
    .optional()
    .describe('The operation that applies the change on the node (GET /v1/operations/{id}); on writes only'),
});

export function presentHost(h: ReverseProxyHostEntity, operationId?: string) {
  return {
    id: h.id,
    node_id: h.nodeId,
    name: h.name,
    enabled: h.enabled,
    listen_host: h.listenHost,
    listen_port: h.listenPort,
    has_tls: h.tlsSealed !== null,
    tls_fingerprint: h.tlsFingerprint,
    tls_not_after: h.tlsNotAfter?.toISOString() ?? null,
    cors: h.cors,
    timeout_ms: h.timeoutMs,
    routes: h.routes,
    tcp_routes: h.tcpRoutes,
    created_at: h.createdAt.toISOString(),
    updated_at: h.updatedAt.toISOString(),
    ...(operationId ? { operation_id: operationId } : {}),
  };
}
