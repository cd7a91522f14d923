/** Redis stream ids ("<ms>-<seq>"), compared as numbers; 19 digits keep both parts below 2^64, as Redis requires. */
export const STREAM_ID = /^\d{1,19}-\d{1,19}$/;

export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}
