import { z } from 'zod';
import {
  bool,
  optionalStr,
  positiveInt,
  str,
  url,
  type ParsedEnv,
  type RuntimeEnvironment,
} from './env-schema.ts';

/** Variables read by both the server and the worker. `local` values match scripts/stack. */
export const sharedEnvSpec = {
  PROJECT_NAME: { schema: str(), default: 'ExpressKit' },
  LOG_LEVEL: {
    schema: z.enum(['error', 'warn', 'info', 'http', 'debug']),
    default: 'info',
  },
  DATABASE_URL: { schema: url(), local: 'postgres://postgres@127.0.0.1:25432/expresskit' },
  DATABASE_READ_URL: { schema: url().optional() },
  DATABASE_POOL_MAX: { schema: positiveInt(), default: '10' },
  DATABASE_READ_POOL_MAX: { schema: positiveInt(), default: '10' },
  REDIS_SESSION_URL: { schema: url(), local: 'redis://127.0.0.1:26379' },
  REDIS_CACHE_URL: { schema: url(), local: 'redis://127.0.0.1:26380' },
  REDIS_CACHE_TTL: { schema: positiveInt(), default: '3600' },
  NATS_URL: { schema: str(), local: 'nats://127.0.0.1:24222' },
  S3_CONTENT_ENDPOINT: { schema: url(), local: 'http://127.0.0.1:24568' },
  S3_CONTENT_REGION: { schema: str(), default: 'us-east-1' },
  S3_CONTENT_ACCESS_KEY_ID: { schema: str(), local: 'S3RVER' },
  S3_CONTENT_SECRET_ACCESS_KEY: { schema: str(), local: 'S3RVER' },
  S3_CONTENT_BUCKET: { schema: str(), default: 'content' },
  R2_ENDPOINT: { schema: url(), local: 'http://127.0.0.1:24568' },
  R2_REGION: { schema: str(), default: 'us-east-1' },
  R2_ACCESS_KEY_ID: { schema: str(), local: 'S3RVER' },
  R2_SECRET_ACCESS_KEY: { schema: str(), local: 'S3RVER' },
  R2_BUCKET: { schema: str(), default: 'public' },
  R2_PUBLIC_DOMAIN: { schema: url(), local: 'http://127.0.0.1:24568/public' },
  STORAGE_CREATE_BUCKETS: { schema: bool().optional() },
  STORAGE_REQUEST_TIMEOUT_MS: { schema: positiveInt(), default: '10000' },
  SEARCH_ENGINE: { schema: z.enum(['postgres', 'meilisearch']), default: 'postgres' },
  MEILISEARCH_URL: { schema: url().optional() },
  MEILISEARCH_API_KEY: { schema: optionalStr() },
  EMAIL_VERIFICATION_TTL_MINUTES: { schema: positiveInt(), default: '1440' },
  PASSWORD_RESET_TTL_MINUTES: { schema: positiveInt(), default: '60' },
  EMAIL_CHANGE_TTL_MINUTES: { schema: positiveInt(), default: '60' },
  FRONTEND_HOST: { schema: url(), local: 'http://localhost:3000' },
  FRONTEND_PATH_VERIFY_EMAIL: { schema: str(), default: '/verify-email' },
  FRONTEND_PATH_RESET_PASSWORD: { schema: str(), default: '/reset-password' },
  FRONTEND_PATH_CONFIRM_EMAIL_CHANGE: { schema: str(), default: '/confirm-email-change' },
};

export function buildSharedConfig(e: ParsedEnv<typeof sharedEnvSpec>, runtime: RuntimeEnvironment) {
  const problems: string[] = [];
  if (e.SEARCH_ENGINE === 'meilisearch' && !e.MEILISEARCH_URL) {
    problems.push('MEILISEARCH_URL: is required when SEARCH_ENGINE=meilisearch');
  }
  return {
    problems,
    config: {
      env: runtime,
      projectName: e.PROJECT_NAME,
      logLevel: e.LOG_LEVEL,
      database: {
        url: e.DATABASE_URL,
        readUrl: e.DATABASE_READ_URL ?? e.DATABASE_URL,
        poolMax: e.DATABASE_POOL_MAX,
        readPoolMax: e.DATABASE_READ_POOL_MAX,
      },
      redis: {
        sessionUrl: e.REDIS_SESSION_URL,
        cacheUrl: e.REDIS_CACHE_URL,
        cacheTtlSeconds: e.REDIS_CACHE_TTL,
      },
      nats: { url: e.NATS_URL },
      storage: {
        content: {
          endpoint: e.S3_CONTENT_ENDPOINT,
          region: e.S3_CONTENT_REGION,
          accessKeyId: e.S3_CONTENT_ACCESS_KEY_ID,
          secretAccessKey: e.S3_CONTENT_SECRET_ACCESS_KEY,
          bucket: e.S3_CONTENT_BUCKET,
        },
        public: {
          endpoint: e.R2_ENDPOINT,
          region: e.R2_REGION,
          accessKeyId: e.R2_ACCESS_KEY_ID,
          secretAccessKey: e.R2_SECRET_ACCESS_KEY,
          bucket: e.R2_BUCKET,
          publicBaseUrl: e.R2_PUBLIC_DOMAIN.replace(/\/+$/, ''),
        },
        // Buckets are provisioned by infrastructure in production; locally the app makes them.
        createBuckets: e.STORAGE_CREATE_BUCKETS ?? runtime !== 'production',
        requestTimeoutMs: e.STORAGE_REQUEST_TIMEOUT_MS,
      },
      search: {
        engine: e.SEARCH_ENGINE,
        meilisearchUrl: e.MEILISEARCH_URL,
        meilisearchApiKey: e.MEILISEARCH_API_KEY,
      },
      /** Lifetimes of the single-use links mailed to users: the server and the worker issue them. */
      emailTokens: {
        verificationTtlMinutes: e.EMAIL_VERIFICATION_TTL_MINUTES,
        passwordResetTtlMinutes: e.PASSWORD_RESET_TTL_MINUTES,
        emailChangeTtlMinutes: e.EMAIL_CHANGE_TTL_MINUTES,
      },
      frontend: {
        host: e.FRONTEND_HOST.replace(/\/+$/, ''),
        paths: {
          verifyEmail: e.FRONTEND_PATH_VERIFY_EMAIL,
          resetPassword: e.FRONTEND_PATH_RESET_PASSWORD,
          confirmEmailChange: e.FRONTEND_PATH_CONFIRM_EMAIL_CHANGE,
        },
      },
    },
  };
}

export type SharedConfig = ReturnType<typeof buildSharedConfig>['config'];
