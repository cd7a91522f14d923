import { z } from 'zod';
import { MACHINE_UUID_PATTERN } from './machines';

/**
 * The reverse proxy an agent runs on its host (docs/api/machines.md, "Reverse proxy"): hosts
 * (a listener, optional TLS, CORS) with ordered HTTP routes and TCP routes, each to a VM by id
 * (resolved to its current address on the agent, again whenever that address changes) or to a
 * fixed host:port. The hub checks every field with these schemas and the agent again.
 */

/** An RFC 7230 token: what a header name may be. */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** A header value: visible characters, spaces and tabs, nothing that could split a header. */
const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;
export const PATH_PATTERN_MAX = 512;
/** Headers the proxy owns: a route cannot add or remove them. */
const HOP_HEADERS = new Set(['connection', 'upgrade', 'transfer-encoding', 'content-length', 'host', 'te', 'trailer']);

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** An IPv4 or IPv6 address (no zone index), without node:net so that browsers can check too. */
export function isIpAddress(v: string): boolean {
  if (IPV4.test(v)) return true;
  if (!v.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(v)) return false;
  try {
    return new URL(`http://[${v}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

export const port = z.number().int().min(1).max(65_535);
export const listenAddress = z
  .string()
  .max(64)
  .refine((v) => isIpAddress(v), { message: 'an IPv4 or IPv6 address to listen on (0.0.0.0, ::, 127.0.0.1, …)' });
/** A target host: an IP address or a DNS name (letters, digits, '-', '.'). */
export const targetHost = z
  .string()
  .max(253)
  .refine(
    (v) =>
      isIpAddress(v) ||
      /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        v,
      ),
    {
      message: 'an IP address or a host name',
    },
  );
export const vmId = z.string().regex(MACHINE_UUID_PATTERN, { message: 'a VM UUID' });

/** A VM UUID as routes keep it: no braces, lower case. */
export function bareVmId(v: string): string {
  return v.replace(/^\{|\}$/g, '').toLowerCase();
}

export const headerName = z
  .string()
  .regex(HEADER_NAME_PATTERN, { message: "a header name (an RFC 7230 token: letters, digits and !#$%&'*+.^_`|~-)" })
  .refine((v) => !HOP_HEADERS.has(v.toLowerCase()), { message: 'the proxy sets this header itself' });
export const headerValue = z
  .string()
  .max(4096)
  .regex(HEADER_VALUE_PATTERN, { message: 'a header value: printable characters, no line breaks' });

export const headerRules = z
  .object({
    add: z.record(headerName, headerValue).default({}),
    remove: z.array(headerName).max(64).default([]),
  })
  .strict()
  .refine((h) => Object.keys(h.add).length <= 64, { message: 'at most 64 headers to add' });
export type HeaderRules = z.infer<typeof headerRules>;

/** A regular expression matched against the request path (with its query string); it must compile. */
export const pathPattern = z
  .string()
  .min(1)
  .max(PATH_PATTERN_MAX)
  .superRefine((v, ctx) => {
    try {
      new RegExp(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(err as Error).message.slice(0, 200)}` });
    }
  });

/** A route's target: a VM by id (its current address) or a fixed host; always a port. */
const targetFields = {
  target_vm_id: vmId.nullable().default(null),
  target_host: targetHost.nullable().default(null),
  target_port: port,
};
function oneTarget(t: { target_vm_id: string | null; target_host: string | null }) {
  return (t.target_vm_id === null) !== (t.target_host === null);
}
const ONE_TARGET = { message: 'name exactly one of target_vm_id and target_host', path: ['target_vm_id'] };

export const httpRouteFields = z
  .object({
    path_pattern: pathPattern.default('^/'),
    ...targetFields,
    request_headers: headerRules.default({ add: {}, remove: [] }),
    response_headers: headerRules.default({ add: {}, remove: [] }),
    /** Add X-Forwarded-For/-Proto/-Host (and keep the client's Host header). */
    forwarded_headers: z.boolean().default(true),
  })
  .strict();
export const httpRoute = httpRouteFields.extend({ id: z.uuid() }).refine(oneTarget, ONE_TARGET);
export type HttpRoute = z.infer<typeof httpRoute>;

export const tcpRoute = z
  .object({ id: z.uuid(), listen_port: port, ...targetFields })
  .strict()
  .refine(oneTarget, ONE_TARGET);
export type TcpRoute = z.infer<typeof tcpRoute>;

const methodName = z.string().regex(/^[A-Z]{1,16}$/, { message: 'an HTTP method in capitals' });
const origin = z
  .string()
  .max(256)
  .refine((v) => v === '*' || /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(v), {
    message: '"*" or an origin such as https://app.example.com',
  });
export const corsSettings = z
  .object({
    allowed_origins: z.array(origin).min(1).max(64),
    allowed_methods: z.array(methodName).max(32).default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
    allowed_headers: z.array(headerName).max(64).default([]),
    allow_credentials: z.boolean().default(false),
    max_age_seconds: z.number().int().min(0).max(86_400).default(600),
  })
  .strict();
export type CorsSettings = z.infer<typeof corsSettings>;

/** One proxy host as the agent applies it; `tls` carries the PEMs only on the way to the agent. */
export const proxyHost = z
  .object({
    id: z.uuid(),
    name: z.string().min(1).max(100),
    enabled: z.boolean(),
    listen_host: listenAddress,
    listen_port: port,
    tls: z
      .object({ cert_pem: z.string().max(65_536), key_pem: z.string().max(65_536) })
      .strict()
      .nullable(),
    /** The certificate's SHA-256 fingerprint: a changed certificate restarts the listener. */
    tls_fingerprint: z.string().max(128).nullable(),
    cors: corsSettings.nullable(),
    /** How long a backend may take to answer before the client gets a 504. */
    timeout_ms: z.number().int().min(100).max(600_000),
    /** Bumped by a restart: a new value closes and reopens the listener. */
    generation: z.number().int().min(0),
    routes: z.array(httpRoute).max(256),
    tcp_routes: z.array(tcpRoute).max(64),
  })
  .strict();
export type ProxyHost = z.infer<typeof proxyHost>;

export const reverseProxyConfig = z.object({ hosts: z.array(proxyHost).max(64) }).strict();
export type ReverseProxyConfig = z.infer<typeof reverseProxyConfig>;

/** What an apply reports per host: listening or not, and why not. */
export const proxyHostStatus = z.object({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  listening: z.boolean(),
  address: z.string().nullable(),
  error: z.string().nullable(),
  tcp_routes: z.array(
    z.object({ id: z.string(), listen_port: z.number(), listening: z.boolean(), error: z.string().nullable() }),
  ),
});
export type ProxyHostStatus = z.infer<typeof proxyHostStatus>;
