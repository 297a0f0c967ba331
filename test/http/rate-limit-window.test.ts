import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSlidingWindow,
  ipSubject,
  type SlidingWindow,
} from '../../src/http/middleware/rate-limit.ts';
import { closeRedis, createRedis, type RedisClient } from '../../src/shared/clients/redis.ts';

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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the sliding-window script', () => {
  it('When hits arrive, then it admits up to the limit, counts each and refuses the next', async () => {
    const key = freshKey();
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await window.hit([key], 3, 60_000));
    expect(outcomes.map((o) => o.admitted)).toEqual([true, true, true, false]);
    expect(outcomes.map((o) => o.subjects[0]!.count)).toEqual([1, 2, 3, 3]);
    expect(await redis.zcard(key)).toBe(3);
  });

  it('When a subject is full, then its reset is the time until its oldest entry leaves the window', async () => {
    const key = freshKey();
    await window.hit([key], 2, 1000);
    await sleep(300);
    await window.hit([key], 2, 1000);
    const refused = await window.hit([key], 2, 1000);
    expect(refused.admitted).toBe(false);
    expect(refused.subjects[0]!.resetMs).toBeGreaterThan(0);
    expect(refused.subjects[0]!.resetMs).toBeLessThanOrEqual(700);
  });

  it('When one of two keys is full, then the request is refused and logged under neither', async () => {
    const full = freshKey();
    const roomy = freshKey();
    await window.hit([full], 1, 60_000);
    const outcome = await window.hit([roomy, full], 1, 60_000);
    expect(outcome.admitted).toBe(false);
    expect(outcome.subjects).toEqual([
      { count: 0, resetMs: 0 },
      { count: 1, resetMs: expect.any(Number) as number },
    ]);
    expect(await redis.exists(roomy)).toBe(0);
    expect(await redis.zcard(full)).toBe(1);
  });

  it('When the window passes, then old entries are dropped and the key expires with them', async () => {
    const key = freshKey();
    await window.hit([key], 1, 300);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    expect((await window.hit([key], 1, 300)).admitted).toBe(false);

    await sleep(350);
    const again = await window.hit([key], 1, 300);
    expect(again).toMatchObject({ admitted: true, subjects: [{ count: 1 }] });
  });

  it('When a client keeps hammering a full window, then refused hits do not push its recovery back', async () => {
    const key = freshKey();
    await window.hit([key], 1, 400);
    for (let i = 0; i < 5; i++) {
      await sleep(50);
      await window.hit([key], 1, 400);
    }
    await sleep(200);
    expect((await window.hit([key], 1, 400)).admitted).toBe(true);
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
