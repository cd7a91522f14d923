import { HOST_OPERATION_SPECS, type ParamKind } from '@hostplane/protocol';
import { z } from 'zod';
import type { HostResourceRoute } from './host-resource-routes';

export interface ResourceField {
  /** The name in the API (path, query or body). */
  name: string;
  /** The operation's parameter it fills. */
  param: string;
  kind: ParamKind;
  optional: boolean;
}

export interface ResourceShape {
  /** Path parameters after `id`, in order. */
  path: ResourceField[];
  /** Query (GET, DELETE) or body (POST, PATCH) fields. */
  input: ResourceField[];
  inputIn: 'query' | 'body';
}

/** Where each parameter of a route's operation comes from. */
export function resourceShape(route: HostResourceRoute): ResourceShape {
  const spec = HOST_OPERATION_SPECS[route.operation].params as Record<string, string>;
  const toApi = new Map(Object.entries(route.rename ?? {}).map(([api, param]) => [param, api] as const));
  const names = [...route.path.matchAll(/:([a-z_]+)/g)].map((m) => m[1]);
  const field = (param: string): ResourceField => ({
    name: toApi.get(param) ?? param,
    param,
    kind: spec[param].replace(/\?$/, '') as ParamKind,
    optional: spec[param].endsWith('?'),
  });
  const path = names.map((name) => {
    if (route.pick?.param === name) return { name, param: name, kind: route.pick.kind, optional: false };
    const param = route.rename?.[name] ?? name;
    if (!(param in spec))
      throw new Error(`${route.method} ${route.path}: ${name} is no parameter of ${route.operation}`);
    return field(param);
  });
  const bound = new Set(path.map((f) => f.param));
  const input = Object.keys(spec)
    .filter((p) => !bound.has(p))
    .map(field);
  return { path, input, inputIn: route.method === 'GET' || route.method === 'DELETE' ? 'query' : 'body' };
}

const KIND_DOC: Record<ParamKind, string> = {
  name: 'a name: ^[A-Za-z][A-Za-z0-9_.-]{0,62}$',
  dataset: "a dataset: pool/a/b of letters, digits and _ . - (in a path, '/' sent as %2F)",
  snapshot: "a snapshot: pool/a@name (in a path, '/' sent as %2F)",
  snapname: 'a snapshot name or hold tag: letters, digits and _ . : -',
  size: 'a size: ^\\d+[KMGT]?$',
  mac: 'a MAC address (aa:bb:cc:dd:ee:ff) or a MAC mode (random, auto, factory)',
  vlan: 'a VLAN id, 1 to 4094',
  fmri: "an FMRI such as network/ntp or svc:/network/ntp:default (in a path, '/' sent as %2F)",
  addrobj: "an address object link/name (in a path, '/' sent as %2F)",
  cidr: 'an address with its prefix length: 10.0.0.5/24',
  path: 'an absolute path, no .. and no leading -',
  bool: 'true or false',
  props: 'an object of property: value (at most 64), each checked as a property',
  propnames: 'property names, comma-separated in a query string',
  term: 'letters, digits and _ . / + * -',
  vm: 'a Parallels VM by UUID or name',
  vmname: 'a new VM or snapshot name',
  uuid: 'a UUID',
  cpus: 'a CPU count, 1 to 128',
  memory: 'memory in MiB, 256 to 1048576',
  diskmb: 'a disk size in MiB, 1024 to 67108864',
  lines: 'a number of log lines, 1 to 5000',
  text: 'free text without control characters',
  bootorder: 'boot devices in order (hdd0 cdrom0 net0 …)',
  argv: 'a command as an array of arguments, never a shell string',
  seconds: 'whole seconds, 0 to 1800',
  ephemeral: "the hub's record of an ephemeral clone",
};

/** The JSON type a kind takes in a body (and, as text, in a query string or path). */
function kindSchema(kind: ParamKind, where: 'path' | 'query' | 'body'): z.ZodType {
  const text = z.string().describe(KIND_DOC[kind]);
  if (where !== 'body') return text;
  if (kind === 'vlan') return z.number().int().min(1).max(4094).describe(KIND_DOC[kind]);
  if (kind === 'bool') return z.boolean().describe(KIND_DOC[kind]);
  if (kind === 'cpus' || kind === 'memory' || kind === 'diskmb' || kind === 'lines')
    return z.number().int().describe(KIND_DOC[kind]);
  if (kind === 'argv') return z.array(z.string()).describe(KIND_DOC[kind]);
  if (kind === 'props') return z.record(z.string(), z.string()).describe(KIND_DOC[kind]);
  if (kind === 'propnames') return z.array(z.string()).describe(KIND_DOC[kind]);
  return text;
}

/**
 * The route's path, query and body as schemas for the OpenAPI document. The values are checked
 * by their kinds (the agent's own checks), which name the field in a 400; these only describe.
 */
export function resourceSchemas(route: HostResourceRoute, shape: ResourceShape) {
  const params = z.object({
    id: z.uuid({ message: 'node id must be a UUID' }),
    ...Object.fromEntries(shape.path.map((f) => [f.name, kindSchema(f.kind, 'path')])),
  });
  const inputs = Object.fromEntries(
    shape.input.map((f) => {
      const s = kindSchema(f.kind, shape.inputIn === 'query' ? 'query' : 'body');
      return [f.name, f.optional ? s.optional() : s];
    }),
  );
  const query =
    shape.inputIn === 'query'
      ? z.object({
          ...inputs,
          ...(route.inventory
            ? {
                live: z
                  .enum(['true', 'false'])
                  .optional()
                  .describe("true: read the host now; otherwise the answer is the agent's last inventory"),
              }
            : {}),
        })
      : undefined;
  const body = shape.inputIn === 'body' && shape.input.length > 0 ? z.object(inputs) : undefined;
  return { params, query, body };
}
