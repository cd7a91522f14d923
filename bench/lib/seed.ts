/** A small seeded generator (mulberry32): the same seed gives the same request bodies every run. */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, max). */
  int(max: number): number;
  /** Letters and digits, `length` long. */
  word(length: number): string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const word = (length: number) => Array.from({ length }, () => ALPHABET[int(ALPHABET.length)]).join('');
  return { next, int, word };
}
