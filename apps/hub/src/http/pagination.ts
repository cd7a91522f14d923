import { z } from 'zod';

export const paginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type Pagination = z.infer<typeof paginationQuery>;

export interface Page<T> {
  data: T[];
  total: number;
}

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), total: z.number().int() });
}

export function toPage<T>(data: T[], total: number): Page<T> {
  return { data, total };
}

/** TypeORM's `skip`/`take` from a validated pagination query. */
export function toFindWindow(p: Pagination): { skip: number; take: number } {
  return { skip: p.offset, take: p.limit };
}
