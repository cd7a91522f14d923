import { randomUUID } from 'node:crypto';

/** Identifies this hub process among replicas (ownership keys, logs, tunnel stats). */
export const HUB_INSTANCE_ID = `hub-${randomUUID().slice(0, 8)}`;
