let allocated = 0;

/**
 * A fresh 10.x.y.z address for each simulated client of the run, sent as X-Forwarded-For to
 * servers started with TRUST_PROXY=loopback: the per-IP rate limits of production then apply to
 * each client separately, and no two clients' budgets mix.
 */
export function clientAddress(): string {
  allocated += 1;
  return `10.${(allocated >> 16) & 255}.${(allocated >> 8) & 255}.${allocated & 255}`;
}
