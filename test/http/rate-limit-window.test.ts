import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSlidingWindow,
  ipSubject,
  type SlidingWindow,
} from '../../src/http/middleware/rate-limit.ts';
import { closeRedis, createRedis, type RedisClient } from '../../src/shared/clients/redis.ts';
import { sleep } from '../support/wait.ts';

let redis: RedisClient;
let window: SlidingWindow;

beforeAll(async () => {
  redis = await createRedis(process.env.REDIS_SESSION_URL!, 'rate-limit-window-test');
  window = createSlidingWindow(redis);
});

afterAll(async () => {
  await closeRedis(redis);
});

const freshKey = () => `rate_limit:test:${randomUUID()}`;
// Longer than any test takes however loaded the machine, so nothing leaves it unless asked to.
const WINDOW_MS = 60_000;

describe('the sliding-window script', () => {
  it('When hits arrive, then it admits up to the limit, counts each and refuses the next', async () => {
    const key = freshKey();
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await window.hit([key], 3, WINDOW_MS));
    expect(outcomes.map((o) => o.admitted)).toEqual([true, true, true, false]);
    expect(outcomes.map((o) => o.subjects[0]!.count)).toEqual([1, 2, 3, 3]);
    expect(await redis.zcard(key)).toBe(3);
  });

  it('When a subject is full, then its reset is the time until its oldest entry leaves the window', async () => {
    const key = freshKey();
    const started = Date.now();
    await window.hit([key], 2, WINDOW_MS);
    await sleep(300);
    await window.hit([key], 2, WINDOW_MS);
    const refused = await window.hit([key], 2, WINDOW_MS);
    const elapsedMs = Date.now() - started;
    expect(refused.admitted).toBe(false);
    // The oldest entry is at least 300 ms old (timers may fire a millisecond early) and at most
    // as old as the test; counted from the newest entry, the reset would be later.
    expect(refused.subjects[0]!.resetMs).toBeLessThanOrEqual(WINDOW_MS - 295);
    expect(refused.subjects[0]!.resetMs).toBeGreaterThanOrEqual(WINDOW_MS - elapsedMs - 2);
  });

  it('When one of two keys is full, then the request is refused and logged under neither', async () => {
    const full = freshKey();
    const roomy = freshKey();
    await window.hit([full], 1, WINDOW_MS);
    const outcome = await window.hit([roomy, full], 1, WINDOW_MS);
    expect(outcome.admitted).toBe(false);
    expect(outcome.subjects).toEqual([
      { count: 0, resetMs: 0 },
      { count: 1, resetMs: expect.any(Number) as number },
    ]);
    expect(await redis.exists(roomy)).toBe(0);
    expect(await redis.zcard(full)).toBe(1);
  });

  it('When a hit is admitted, then the key expires one window later', async () => {
    const key = freshKey();
    const started = Date.now();
    await window.hit([key], 1, WINDOW_MS);
    const pttl = await redis.pttl(key);
    const elapsedMs = Date.now() - started;
    expect(pttl).toBeLessThanOrEqual(WINDOW_MS);
    expect(pttl).toBeGreaterThanOrEqual(WINDOW_MS - elapsedMs - 2);
  });

  it('When the window passes, then old entries are dropped from the count', async () => {
    const key = freshKey();
    expect((await window.hit([key], 2, 300)).subjects[0]!.count).toBe(1);
    await sleep(350);
    expect(await window.hit([key], 2, 300)).toMatchObject({
      admitted: true,
      subjects: [{ count: 1 }],
    });
  });

  it('When a client keeps hammering a full window, then refused hits do not push its recovery back', async () => {
    const key = freshKey();
    await window.hit([key], 1, WINDOW_MS);
    const resets: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(20);
      const refused = await window.hit([key], 1, WINDOW_MS);
      expect(refused.admitted).toBe(false);
      resets.push(refused.subjects[0]!.resetMs);
    }
    expect(await redis.zcard(key)).toBe(1);
    // Every refusal counts down to the same first entry, and the key's expiry stays put too.
    expect(resets).toEqual([...resets].sort((a, b) => b - a));
    expect(resets.at(-1)).toBeLessThanOrEqual(WINDOW_MS - 95);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(WINDOW_MS - 95);
  });
});

describe('the IP subject', () => {
  it('When the address is IPv4 or IPv4-mapped IPv6, then it is the IPv4 address', () => {
    expect(ipSubject('203.0.113.7')).toBe('203.0.113.7');
    expect(ipSubject('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('When the address is IPv6, then every address of one /64 shares the subject', () => {
    expect(ipSubject('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipSubject('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(ipSubject('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipSubject('::1')).toBe('0:0:0:0::/64');
    expect(ipSubject('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipSubject('2001:db8:1:3::1')).not.toBe(ipSubject('2001:db8:1:2::1'));
  });
});
