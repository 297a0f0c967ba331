import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, createRedis, type RedisClient } from '../../src/shared/clients/redis.ts';
import { defineRedisScript } from '../../src/shared/clients/redis-script.ts';
import { createPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';

// A Redis of this file's own: its command counts are this file's alone, and flushing its
// scripts disturbs no other test.
let server: PrivateRedis;
let redis: RedisClient;

beforeAll(async () => {
  server = await createPrivateRedis();
  await server.start();
  redis = await createRedis(server.url, 'redis-script-test');
});
afterAll(async () => {
  await closeRedis(redis);
  await server.stop();
});

/** How often this Redis ran a command, from INFO commandstats. */
async function calls(command: string): Promise<number> {
  const info = await redis.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return Number(match?.[1] ?? 0);
}

const incrementBy = defineRedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");

describe('Redis scripts', () => {
  it('When a script runs, then it gets its declared keys and arguments', async () => {
    const key = `test:script:${randomUUID()}`;
    expect(await incrementBy(redis, [key], [5])).toBe(5);
    expect(await incrementBy(redis, [key], [2])).toBe(7);
    await redis.del(key);
  });

  it('When the script is known to Redis, then it is run by its SHA, not by sending its body', async () => {
    const key = `test:script:${randomUUID()}`;
    await incrementBy(redis, [key], [1]);
    const evalsBefore = await calls('eval');
    const evalshasBefore = await calls('evalsha');

    for (let i = 0; i < 5; i += 1) await incrementBy(redis, [key], [1]);

    expect(await calls('evalsha')).toBeGreaterThanOrEqual(evalshasBefore + 5);
    expect(await calls('eval')).toBe(evalsBefore);
    await redis.del(key);
  });

  it('When Redis lost its scripts (SCRIPT FLUSH, a restart), then the next call loads it again and succeeds', async () => {
    const key = `test:script:${randomUUID()}`;
    await incrementBy(redis, [key], [1]);
    await redis.script('FLUSH');

    expect(await incrementBy(redis, [key], [1])).toBe(2);
    expect(await incrementBy(redis, [key], [1])).toBe(3);
    await redis.del(key);
  });
});
