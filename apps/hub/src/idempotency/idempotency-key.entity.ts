import { Column, Entity, PrimaryColumn } from 'typeorm';

export type IdempotencyKeyState = 'in_flight' | 'completed';

/**
 * One `Idempotency-Key` of one caller: claimed by the request that runs, then holding its
 * response (sealed with the hub's encryption key, as it may carry a secret shown once).
 * The primary key (principal, key) is what makes a concurrent second claim fail.
 */
@Entity('idempotency_keys')
export class IdempotencyKeyEntity {
  /** `user:<id>` or `api_token:<id>`: keys of different callers never meet. */
  @PrimaryColumn({ type: 'text' }) principal!: string;
  @PrimaryColumn({ type: 'text' }) key!: string;
  /** HMAC of method, URL, organization and body: the same key with another request is refused. */
  @Column({ type: 'text' }) fingerprint!: string;
  /** Changes on every claim, so a request whose claim was taken over cannot write over the new one. */
  @Column({ name: 'claim_id', type: 'uuid' }) claimId!: string;
  @Column({ type: 'text' }) state!: IdempotencyKeyState;
  @Column({ type: 'text' }) method!: string;
  /** The route pattern, for operators reading the table. */
  @Column({ type: 'text' }) route!: string;
  @Column({ name: 'response_status', type: 'int', nullable: true }) responseStatus!: number | null;
  /** secret-box sealed `{headers, body}`, bound to (principal, key); never in clear. */
  @Column({ name: 'response_sealed', type: 'text', nullable: true }) responseSealed!: string | null;
  /** While in flight: after this a crashed replica's claim may be taken over by a retry. */
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true }) lockedUntil!: Date | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
}
