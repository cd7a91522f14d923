import { z } from 'zod';

const signal = z.enum(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);

export interface JobKindSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  description: string;
  payload: P;
  result: R;
  /** The resource the job acts on: jobs on the same resource run one at a time, in order. */
  resource: (payload: z.infer<P>) => string | null;
  /** Whether a running job of this kind can be asked to stop. */
  cancellable: boolean;
}

function kind<P extends z.ZodType, R extends z.ZodType>(spec: JobKindSpec<P, R>): JobKindSpec<P, R> {
  return spec;
}

/**
 * Every job the hub can send to an agent. The agent checks at start that each kind has exactly
 * one handler; adding a kind here without a handler fails that check.
 */
export const JOB_KINDS = {
  'agent.selftest': kind({
    description: 'Append a line to the agent\'s self-test log after an optional delay, reporting progress: proves the job pipeline end to end',
    payload: z.object({
      marker: z.string().min(1).max(200).regex(/^[^\n\r]*$/, { message: 'must be a single line' }),
      delay_ms: z.number().int().min(0).max(600_000).default(0),
      steps: z.number().int().min(1).max(100).default(1),
      resource: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/).optional(),
      fail_with: z.string().max(200).optional(),
    }),
    result: z.object({ line: z.string(), file: z.string() }),
    resource: (p) => (p.resource ? `selftest:${p.resource}` : null),
    cancellable: true,
  }),
  'node.process.kill': kind({
    description: 'Send a signal to a process on the host',
    payload: z.object({ pid: z.number().int().min(2), signal: signal.default('SIGTERM') }),
    result: z.object({ pid: z.number().int(), signal, delivered: z.boolean() }),
    resource: (p) => `process:${p.pid}`,
    cancellable: false,
  }),
  'node.inventory.refresh': kind({
    description: 'Collect and send the host inventory now',
    payload: z.object({}),
    result: z.object({ collected_at: z.string() }),
    resource: () => 'node:inventory',
    cancellable: false,
  }),
} satisfies Record<string, JobKindSpec>;

export type JobKind = keyof typeof JOB_KINDS;
export type JobPayload<K extends JobKind> = z.infer<(typeof JOB_KINDS)[K]['payload']>;
export type JobPayloadInput<K extends JobKind> = z.input<(typeof JOB_KINDS)[K]['payload']>;
export type JobResult<K extends JobKind> = z.infer<(typeof JOB_KINDS)[K]['result']>;
/** `{ kind, payload }` for one kind; the union over all kinds is what `enqueue` accepts. */
export type JobOf<K extends JobKind> = { kind: K; payload: JobPayloadInput<K> };
export type AnyJob = { [K in JobKind]: JobOf<K> }[JobKind];

export const jobKindName = z.enum(Object.keys(JOB_KINDS) as [JobKind, ...JobKind[]]);

export function isJobKind(k: string): k is JobKind {
  return Object.prototype.hasOwnProperty.call(JOB_KINDS, k);
}

export const jobError = z.object({ code: z.string().min(1).max(64), message: z.string().max(4000) });
export type JobError = z.infer<typeof jobError>;

/** What the hub sends; `job_id` is the operation id and the idempotency key. */
export const jobEnvelope = z.object({
  job_id: z.uuid(),
  kind: jobKindName,
  payload: z.unknown(),
  resource: z.string().nullable(),
  attempt: z.number().int().min(1),
  deadline_at: z.iso.datetime().nullable(),
  created_at: z.iso.datetime(),
});
export type JobEnvelope = z.infer<typeof jobEnvelope>;

/** The agent's answer to a `job` frame, sent once the job id is durably in its journal. */
export const jobAck = z.discriminatedUnion('status', [
  z.object({ status: z.literal('accepted') }),
  /** Already running from an earlier delivery: the result will follow. */
  z.object({ status: z.literal('running') }),
  /** Already finished: here is the recorded outcome again. */
  z.object({ status: z.literal('done'), outcome: z.lazy(() => jobOutcome) }),
  z.object({ status: z.literal('rejected'), error: jobError }),
]);
export type JobAck = z.infer<typeof jobAck>;

export const jobProgress = z.object({
  job_id: z.uuid(),
  percent: z.number().min(0).max(100),
  message: z.string().max(500).optional(),
});
export type JobProgress = z.infer<typeof jobProgress>;

export const jobOutcome = z.discriminatedUnion('status', [
  z.object({ job_id: z.uuid(), status: z.literal('succeeded'), result: z.unknown(), finished_at: z.iso.datetime() }),
  z.object({ job_id: z.uuid(), status: z.literal('failed'), error: jobError, finished_at: z.iso.datetime() }),
  z.object({ job_id: z.uuid(), status: z.literal('cancelled'), finished_at: z.iso.datetime() }),
]);
export type JobOutcome = z.infer<typeof jobOutcome>;

export const jobCancel = z.object({ job_id: z.uuid() });

/** Validates a payload against its kind's schema (both sides call it). */
export function parseJobPayload<K extends JobKind>(kindName: K, payload: unknown): z.ZodSafeParseResult<JobPayload<K>> {
  return (JOB_KINDS[kindName].payload as unknown as z.ZodType<JobPayload<K>>).safeParse(payload);
}
