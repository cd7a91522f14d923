/**
 * CLOCK_MONOTONIC in microseconds (what process.hrtime reads on Linux): one clock for every
 * process on the machine, so a stamp taken in the hub child and one taken here subtract to a
 * latency. performance.now() does not: each process counts from its own start. As a double it
 * is exact (µs since boot stay far below 2^53).
 */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
