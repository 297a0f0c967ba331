import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createStorage, type Bucket, type Storage } from '../../src/shared/clients/s3.ts';

async function collect(bucket: Bucket, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of bucket.list(prefix)) {
    expect(object.lastModified).toBeInstanceOf(Date);
    keys.push(object.key);
  }
  return keys.sort();
}

describe('S3 storage', () => {
  const config = loadWorkerConfig(process.env).storage;
  // Every test writes under its own prefix, so runs and parallel files never collide.
  const prefix = `test/${randomUUID()}`;
  let storage: Storage;

  beforeAll(async () => {
    storage = createStorage(config);
    await storage.ensureBuckets();
  });

  afterAll(async () => {
    const leftovers = await collect(storage.content, prefix);
    await storage.content.deleteMany(leftovers);
    await storage.public.deleteMany(await collect(storage.public, prefix));
    await storage.close();
  });

  it('When both buckets exist, then ping and a second ensureBuckets succeed', async () => {
    await expect(storage.ensureBuckets()).resolves.toBeUndefined();
    await expect(storage.ping()).resolves.toBeUndefined();
  });

  it('When a binary body is stored, then it reads back byte for byte', async () => {
    // Every byte value, then random bytes past the SDK's 64 KiB streaming chunk size.
    const body = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      randomBytes(300_000),
    ]);
    const key = `${prefix}/binary.bin`;

    await storage.content.put(key, body, 'application/octet-stream');
    const read = await storage.content.get(key);

    expect(read?.length).toBe(body.length);
    expect(read?.equals(body)).toBe(true);
  });

  it('When a text body is stored, then it reads back as the same UTF-8', async () => {
    const key = `${prefix}/text.txt`;
    await storage.content.put(key, 'héllo — 世界 🌍', 'text/plain; charset=utf-8');
    expect((await storage.content.get(key))?.toString('utf8')).toBe('héllo — 世界 🌍');
  });

  it('When a key does not exist, then get returns undefined and delete succeeds', async () => {
    const key = `${prefix}/missing`;
    await expect(storage.content.get(key)).resolves.toBeUndefined();
    await expect(storage.content.delete(key)).resolves.toBeUndefined();
  });

  it('When an object is deleted, then it can no longer be read', async () => {
    const key = `${prefix}/deleted.txt`;
    await storage.content.put(key, 'bye', 'text/plain');
    await storage.content.delete(key);
    await expect(storage.content.get(key)).resolves.toBeUndefined();
  });

  it('When listing a prefix, then exactly the objects under it are yielded', async () => {
    const listPrefix = `${prefix}/list`;
    const keys = Array.from({ length: 5 }, (_, i) => `${listPrefix}/item-${i}`);
    await Promise.all(keys.map((key) => storage.content.put(key, key, 'text/plain')));
    await storage.content.put(`${prefix}/list-sibling`, 'x', 'text/plain');

    expect(await collect(storage.content, `${listPrefix}/`)).toEqual(keys);
  });

  it('When several keys are deleted at once, then none remains and missing keys are ignored', async () => {
    const manyPrefix = `${prefix}/many`;
    const keys = Array.from({ length: 4 }, (_, i) => `${manyPrefix}/${i}`);
    await Promise.all(keys.map((key) => storage.content.put(key, 'x', 'text/plain')));

    await storage.content.deleteMany([...keys, `${manyPrefix}/never-existed`]);
    await storage.content.deleteMany([]);

    expect(await collect(storage.content, `${manyPrefix}/`)).toEqual([]);
  });

  it('When an object is in the public bucket, then its public URL serves it', async () => {
    const key = `${prefix}/avatar image.webp`;
    const body = randomBytes(1024);
    await storage.public.put(key, body, 'image/webp');

    const url = storage.public.publicUrl(key);

    expect(url).toBe(`${config.public.publicBaseUrl}/${prefix}/avatar%20image.webp`);
    const res = await fetch(url ?? '');
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it('When the key is null or undefined, then the public URL is null', () => {
    expect(storage.public.publicUrl(null)).toBeNull();
    expect(storage.public.publicUrl(undefined)).toBeNull();
  });
});
