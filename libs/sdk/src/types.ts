import type { paths } from './generated';

/** The JSON body of a route's success answer. */
export type ResponseOf<
  P extends keyof paths,
  M extends 'get' | 'post' | 'put' | 'patch' | 'delete',
  S extends number = 200,
> = paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer B } }> } ? B : never;

export type Operation = ResponseOf<'/v1/operations/{id}', 'get'>;
export type OperationStatus = Operation['status'];
export type Node = ResponseOf<'/v1/nodes/{id}', 'get'>;
export type Instance = ResponseOf<'/v1/instances/{id}', 'get'>;

export const FINAL_OPERATION_STATUSES: readonly OperationStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];
