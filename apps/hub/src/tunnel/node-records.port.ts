import type { Hello, MetricsSample, Refusal } from '@hostplane/protocol';

export type AgentAuthResult =
  { ok: true; node: { id: string; orgId: string; name: string } } | { ok: false; refusal: Refusal };

/**
 * What the tunnel needs from the nodes domain, which owns the `nodes` table: the tunnel keeps
 * sockets, the nodes domain keeps the records. Provided by the nodes domain under
 * `NODE_RECORDS`; without a provider the hub does not boot.
 */
export interface NodeRecords {
  /** Token shape, checksum, stored hash, revocation and protocol version of a handshake. */
  authenticate(token: string | undefined, protocol: number | undefined): Promise<AgentAuthResult>;
  /** Takes the next connection epoch of the node; null when the node no longer exists. */
  nextEpoch(nodeId: string): Promise<number | null>;
  /** Marks the node online with what its `hello` says, if `epoch` is still its latest connection. */
  markOnline(nodeId: string, epoch: number, orgId: string, hello: Hello): Promise<void>;
  /** Marks the node offline if `epoch` is still its latest connection and it was online. */
  markOffline(nodeId: string, epoch: number, orgId: string, reason: string): Promise<void>;
  /** Nodes left online by a replica that died: no heartbeat for `silentSeconds`, not held here. */
  markSilentOffline(silentSeconds: number, heldHere: string[]): Promise<void>;
  /** Buffers a heartbeat; written in batches by `flushHeartbeats`. */
  recordHeartbeat(nodeId: string, sample: MetricsSample | null): void;
  flushHeartbeats(): Promise<void>;
  forgetHeartbeats(nodeId: string): void;
}

export const NODE_RECORDS = Symbol('NodeRecords');
