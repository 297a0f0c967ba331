import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import type { SharedConfig } from '../../config/shared.ts';

type StorageConfig = SharedConfig['storage'];
type BucketConfig = StorageConfig['content'];

export interface StoredObject {
  key: string;
  lastModified: Date;
}

export interface Bucket {
  readonly name: string;
  put(key: string, body: Buffer | Uint8Array | string, contentType: string): Promise<void>;
  /** The whole object, or undefined when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** Whether the key exists, from a HEAD: no body is read. */
  exists(key: string): Promise<boolean>;
  /** Deleting a missing key succeeds, as in S3. `signal` cuts both attempts short. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  deleteMany(keys: readonly string[]): Promise<void>;
  list(prefix: string): AsyncIterable<StoredObject>;
}

export interface PublicBucket extends Bucket {
  /** Full public URL of a key; null in, null out, so nullable image columns map directly. */
  publicUrl(key: string | null | undefined): string | null;
}

export interface Storage {
  content: Bucket;
  public: PublicBucket;
  /** Creates missing buckets; callers gate it on config.storage.createBuckets. */
  ensureBuckets(): Promise<void>;
  /** HeadBucket on both buckets: proves endpoint, credentials and bucket for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// S3 caps DeleteObjects at 1000 keys per request.
const DELETE_BATCH = 1000;

// A store that accepts connections but never answers would otherwise hold a request until the
// stability layer times it out. Two attempts of at most STORAGE_REQUEST_TIMEOUT_MS (10 s) each
// stay inside its 30 s, so the caller gets the store's own error (503 dependency_unavailable).
const CONNECTION_TIMEOUT_MS = 3_000;
const MAX_ATTEMPTS = 2;

function createClient(config: BucketConfig, requestTimeoutMs: number): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    forcePathStyle: true,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: Math.min(CONNECTION_TIMEOUT_MS, requestTimeoutMs),
      requestTimeout: requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    // The SDK's default checksums stream bodies with aws-chunked framing, which s3rver (and
    // some S3-compatible stores) store verbatim: silent corruption. Only send what S3 demands.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === status;
}

function createBucket(client: S3Client, name: string): Bucket {
  return {
    name,
    async put(key, body, contentType) {
      await client.send(
        new PutObjectCommand({ Bucket: name, Key: key, Body: body, ContentType: contentType }),
      );
    },
    async get(key) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: name, Key: key }));
        if (!res.Body) return Buffer.alloc(0);
        const bytes = await res.Body.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        // NoSuchKey, or a bare 404 from stores that answer without an error body.
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    },
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: name, Key: key }));
        return true;
      } catch (error) {
        if (isStatus(error, 404)) return false;
        throw error;
      }
    },
    async delete(key, signal) {
      await client.send(new DeleteObjectCommand({ Bucket: name, Key: key }), {
        abortSignal: signal,
      });
    },
    async deleteMany(keys) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const batch = keys.slice(i, i + DELETE_BATCH);
        const res = await client.send(
          new DeleteObjectsCommand({
            Bucket: name,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = res.Errors ?? [];
        if (failed.length > 0) {
          const sample = failed
            .slice(0, 3)
            .map((e) => `${e.Key}: ${e.Code}`)
            .join(', ');
          throw new Error(
            `S3 DeleteObjects failed for ${failed.length} key(s) in ${name}: ${sample}`,
          );
        }
      }
    },
    async *list(prefix) {
      for await (const page of paginateListObjectsV2(
        { client },
        { Bucket: name, Prefix: prefix },
      )) {
        for (const object of page.Contents ?? []) {
          if (object.Key && object.LastModified)
            yield { key: object.Key, lastModified: object.LastModified };
        }
      }
    },
  };
}

async function ensureBucket(client: S3Client, name: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: name }));
    return;
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    // Another instance starting at the same moment won the race.
    if (!(error instanceof S3ServiceException && error.name === 'BucketAlreadyOwnedByYou'))
      throw error;
  }
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Builds the clients only; no request is made until a method is called. */
export function createStorage(config: StorageConfig): Storage {
  const contentClient = createClient(config.content, config.requestTimeoutMs);
  const publicClient = createClient(config.public, config.requestTimeoutMs);
  const content = createBucket(contentClient, config.content.bucket);
  const publicBucket: PublicBucket = {
    ...createBucket(publicClient, config.public.bucket),
    publicUrl: (key) => (key ? `${config.public.publicBaseUrl}/${encodeKey(key)}` : null),
  };
  return {
    content,
    public: publicBucket,
    async ensureBuckets() {
      await Promise.all([
        ensureBucket(contentClient, config.content.bucket),
        ensureBucket(publicClient, config.public.bucket),
      ]);
    },
    async ping() {
      await Promise.all([
        contentClient.send(new HeadBucketCommand({ Bucket: config.content.bucket })),
        publicClient.send(new HeadBucketCommand({ Bucket: config.public.bucket })),
      ]);
    },
    async close() {
      contentClient.destroy();
      publicClient.destroy();
    },
  };
}
