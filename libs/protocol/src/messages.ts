import { z } from 'zod';
import { instanceState, instanceStateFrame, instanceStats } from './instances';
import { inventory, metricsSample } from './inventory';
import { jobAck, jobCancel, jobEnvelope, jobOutcome, jobProgress } from './jobs';
import { machineEventFrame } from './machines';
import { streamClose, streamControl, streamCredit, streamData, streamOpen, streamOpenAck } from './streams';

/** Socket.io namespace of the agent tunnel, and the handshake headers. */
export const AGENT_NAMESPACE = '/agent';
export const AGENT_TOKEN_HEADER = 'x-agent-token';
export const PROTOCOL_HEADER = 'x-hostplane-protocol';

/** Handshake `auth` payload (an alternative to the headers, e.g. for browsers or proxies that strip them). */
export const handshakeAuth = z.object({
  token: z.string().min(1).max(200).optional(),
  protocol_version: z.coerce.number().int().optional(),
  agent_version: z.string().max(64).optional(),
});

/** Why the hub refused or dropped a connection; the agent prints `message` and acts on `code`. */
export const REFUSAL_CODES = [
  'missing_token',
  'invalid_token',
  'token_revoked',
  'node_deleted',
  'protocol_mismatch',
  'replaced',
  'shutting_down',
  'handshake_timeout',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];
export const refusal = z.object({ code: z.enum(REFUSAL_CODES), message: z.string() });
export type Refusal = z.infer<typeof refusal>;
/** Codes after which retrying with the same token cannot succeed. */
export const FATAL_REFUSALS: ReadonlySet<RefusalCode> = new Set([
  'missing_token',
  'invalid_token',
  'token_revoked',
  'node_deleted',
  'protocol_mismatch',
]);

export const driverInfo = z.object({
  name: z.enum(['process', 'docker', 'zone', 'parallels']),
  available: z.boolean(),
  version: z.string().nullable(),
  reason: z.string().optional(),
  /** Whether tenant workloads run confined here (own uid, cgroup limits, namespaces); absent from older agents. */
  sandboxed: z.boolean().optional(),
});
export type DriverInfo = z.infer<typeof driverInfo>;

export const hello = z.object({
  protocol_version: z.number().int(),
  agent_version: z.string().max(64),
  hostname: z.string().max(255),
  os: z.string().max(64),
  arch: z.string().max(32),
  drivers: z.array(driverInfo),
  capabilities: z.array(z.string().max(64)).max(100),
  max_concurrent_jobs: z.number().int().min(1).max(256),
  /** Jobs the agent is running now (after a reconnect the hub must not treat them as lost). */
  running_jobs: z.array(z.uuid()).max(1000),
  /** Every instance on the host and its state, so the hub can reconcile after a reconnect. */
  instances: z
    .array(z.object({ instance_id: z.uuid(), state: instanceState }))
    .max(10_000)
    .default([]),
});
export type Hello = z.infer<typeof hello>;

export const welcome = z.object({
  node_id: z.uuid(),
  epoch: z.number().int(),
  heartbeat_interval_ms: z.number().int().min(500),
  server_time: z.iso.datetime(),
});
export type Welcome = z.infer<typeof welcome>;

export const heartbeat = z.object({
  seq: z.number().int().nonnegative(),
  metrics: metricsSample,
  running_jobs: z.array(z.uuid()).max(1000),
});
export type Heartbeat = z.infer<typeof heartbeat>;

/** Agent → hub every metrics interval: one sample per running instance, for metrics history. */
export const instanceMetrics = z.object({ ts: z.iso.datetime(), samples: z.array(instanceStats).max(10_000) });
export type InstanceMetrics = z.infer<typeof instanceMetrics>;

export const protocolError = z.object({ code: z.string(), message: z.string(), event: z.string().optional() });
export type ProtocolError = z.infer<typeof protocolError>;

export const resultAck = z.object({ ok: z.boolean() });
export type ResultAck = z.infer<typeof resultAck>;

/**
 * Schemas of every frame, by event name and direction. Receivers validate with these and
 * answer an invalid frame with an `error` frame; they never throw.
 */
export const AGENT_TO_HUB = {
  hello,
  heartbeat,
  inventory,
  'job:progress': jobProgress,
  'job:result': jobOutcome,
  'instance:state': instanceStateFrame,
  'instance:metrics': instanceMetrics,
  'machine:event': machineEventFrame,
  'stream:data': streamData,
  'stream:credit': streamCredit,
  'stream:close': streamClose,
  error: protocolError,
} as const;

export const HUB_TO_AGENT = {
  welcome,
  job: jobEnvelope,
  'job:cancel': jobCancel,
  'stream:open': streamOpen,
  'stream:data': streamData,
  'stream:credit': streamCredit,
  'stream:control': streamControl,
  'stream:close': streamClose,
  error: protocolError,
  refused: refusal,
} as const;

type Ack<T> = (answer: T) => void;
type In<S extends z.ZodType> = z.input<S>;

/** socket.io generics: an emit with the wrong payload does not compile. */
export interface AgentToHubEvents {
  hello: (m: In<typeof hello>, ack: Ack<In<typeof welcome> | In<typeof refusal>>) => void;
  heartbeat: (m: In<typeof heartbeat>) => void;
  inventory: (m: In<typeof inventory>) => void;
  'job:progress': (m: In<typeof jobProgress>) => void;
  'job:result': (m: In<typeof jobOutcome>, ack: Ack<ResultAck>) => void;
  'instance:state': (m: In<typeof instanceStateFrame>) => void;
  'instance:metrics': (m: In<typeof instanceMetrics>) => void;
  'machine:event': (m: In<typeof machineEventFrame>) => void;
  'stream:data': (m: In<typeof streamData>) => void;
  'stream:credit': (m: In<typeof streamCredit>) => void;
  'stream:close': (m: In<typeof streamClose>) => void;
  error: (m: ProtocolError) => void;
}

export interface HubToAgentEvents {
  job: (m: In<typeof jobEnvelope>, ack: Ack<In<typeof jobAck>>) => void;
  'job:cancel': (m: In<typeof jobCancel>) => void;
  'stream:open': (m: In<typeof streamOpen>, ack: Ack<In<typeof streamOpenAck>>) => void;
  'stream:data': (m: In<typeof streamData>) => void;
  'stream:credit': (m: In<typeof streamCredit>) => void;
  'stream:control': (m: In<typeof streamControl>) => void;
  'stream:close': (m: In<typeof streamClose>) => void;
  error: (m: ProtocolError) => void;
  refused: (m: Refusal) => void;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/** Validates a received frame; an invalid one becomes an `error` frame to send back. */
export function parseFrame<S extends z.ZodType>(event: string, schema: S, frame: unknown): ParseResult<z.infer<S>> {
  const r = schema.safeParse(frame);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return {
    ok: false,
    error: {
      code: 'invalid_frame',
      event,
      message: `invalid ${event} frame: ${where}${issue?.message ?? 'malformed'}`,
    },
  };
}

export { jobAck, streamOpenAck };
