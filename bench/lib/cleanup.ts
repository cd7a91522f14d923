/**
 * Servers and databases a benchmark started, undone if the run is interrupted (Ctrl-C) so no
 * child process or hp_bench_* database outlives it. Normal runs undo their own in `finally`.
 */
const pending = new Set<() => Promise<void>>();

export function undoOnInterrupt(undo: () => Promise<void>): () => void {
  pending.add(undo);
  return () => pending.delete(undo);
}

export async function undoAll(): Promise<void> {
  const all = [...pending];
  pending.clear();
  await Promise.allSettled(all.map((undo) => undo()));
}
