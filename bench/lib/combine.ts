import type { BenchContext, BenchModule, BenchReport } from './context';

/** One benchmark made of others, run one after the other; their tables, ratios and facts joined. */
export function combine(...parts: BenchModule[]): BenchModule {
  return {
    async run(ctx: BenchContext): Promise<BenchReport> {
      const joined: Required<BenchReport> = { measurements: [], ratios: {}, facts: {} };
      for (const part of parts) {
        const r = await part.run(ctx);
        joined.measurements.push(...r.measurements);
        Object.assign(joined.ratios, r.ratios);
        Object.assign(joined.facts, r.facts);
      }
      return joined;
    },
  };
}
