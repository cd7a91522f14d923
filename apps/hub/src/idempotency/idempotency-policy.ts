/** Stripe's window: a key answers with its first response for 24 hours. */
export const KEY_TTL_SECONDS = 86_400;
/** An in-flight claim is renewed while its request runs; a dead replica's claim is free after this. */
export const LEASE_SECONDS = 60;
export const RENEW_EVERY_MS = 20_000;
/**
 * A retry that arrives while the first request runs waits this long for its answer (requests
 * that create work answer 202 in milliseconds), then gets 409 idempotency_key_in_flight.
 */
export const IN_FLIGHT_WAIT_MS = 5_000;
export const PRUNE_EVERY_MS = 10 * 60_000;
