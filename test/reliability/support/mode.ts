/**
 * The suite's two modes. The default is what CI runs: bounded, with a fixed fuzzer seed, inside
 * the test budget. `RELIABILITY_MODE=soak` is opt-in: longer loads (RELIABILITY_SOAK_SECS, 120 by
 * default and at least that for the soak's growth bounds) and a random fuzzer seed, printed so a failure can be replayed with
 * RELIABILITY_SEED.
 */
export const soak = process.env.RELIABILITY_MODE === 'soak';

const DEFAULT_SEED = 20261202;

export function fuzzSeed(): number {
  if (process.env.RELIABILITY_SEED) return Number(process.env.RELIABILITY_SEED);
  return soak ? Math.floor(Math.random() * 2 ** 31) : DEFAULT_SEED;
}

export const soakMs = Number(process.env.RELIABILITY_SOAK_SECS ?? 120) * 1000;
