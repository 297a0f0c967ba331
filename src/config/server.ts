import { isIP } from 'node:net';
import {
  ConfigError,
  bool,
  list,
  optionalStr,
  parseEnv,
  port,
  positiveInt,
  readRuntimeEnvironment,
  str,
  url,
} from './env-schema.ts';
import { z } from 'zod';
import { buildOAuthConfig, oauthEnvSpec } from './oauth.ts';
import { buildSharedConfig, sharedEnvSpec } from './shared.ts';

const LOCAL_SESSION_SECRET = 'local-only-session-secret-never-use-in-production';
// base64 of the 32 ASCII bytes 'local-only-totp-encryption-key!!', so production can spot it.
const LOCAL_TOTP_ENCRYPTION_KEY = 'bG9jYWwtb25seS10b3RwLWVuY3J5cHRpb24ta2V5ISE=';
const LOCAL_TOTP_SECRET = 'local-only-totp-backup-code-secret-never-use-in-production';
/** The smallest request head allowed: a browser's cookies alone can take several KiB. */
const MIN_HEADER_BYTES = 8192;
const PLACEHOLDER = /local-only|change-?me|example|placeholder/i;

/** An AES-256 key: 32 bytes written as 64 hex digits or as base64. */
const aes256Key = () =>
  str().transform((value, ctx) => {
    const key = /^[0-9a-f]{64}$/i.test(value)
      ? Buffer.from(value, 'hex')
      : /^[A-Za-z0-9+/]{43}=?$/.test(value)
        ? Buffer.from(value, 'base64')
        : undefined;
    if (key?.length === 32) return key;
    ctx.addIssue({ code: 'custom', message: 'must be 32 bytes as 64 hex digits or base64' });
    return z.NEVER;
  });

const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrSubnet(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  // proxy-addr also takes an IPv4 netmask (10.0.0.0/255.0.0.0) in place of a prefix length.
  if (family === 4 && isIP(prefix) === 4) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Express `trust proxy`, checked here so a typo is a start-up error listed with the others
 * rather than a crash while the app is built (or, worse, a setting that trusts everyone).
 * Unset or `false`: the socket address is the client (forwarded headers are never trusted);
 * `true`: every hop is trusted (only behind a proxy that overwrites X-Forwarded-For); a number:
 * that many hops; otherwise a comma list of `loopback`, `linklocal`, `uniquelocal`, IPs and
 * CIDR subnets.
 */
const trustProxy = () =>
  optionalStr().transform((value, ctx): boolean | number | string[] => {
    if (value === undefined || value === 'false') return false;
    if (value === 'true') return true;
    if (/^\d+$/.test(value)) return Number(value);
    const entries = value.split(',').map((entry) => entry.trim());
    const bad = entries.filter(
      (entry) => !TRUST_PROXY_NAMES.has(entry) && !isAddressOrSubnet(entry),
    );
    if (bad.length === 0) return entries;
    ctx.addIssue({
      code: 'custom',
      message:
        `${bad.map((entry) => JSON.stringify(entry)).join(', ')} is not a hop count, true, ` +
        'false, loopback, linklocal, uniquelocal, an IP or a CIDR subnet',
    });
    return z.NEVER;
  });

export const serverEnvSpec = {
  ...sharedEnvSpec,
  ...oauthEnvSpec,
  HOST: { schema: str(), default: '127.0.0.1' },
  PORT: { schema: port(), default: '8000' },
  TRUST_PROXY: { schema: trustProxy() },
  CORS_ALLOWED_ORIGINS: { schema: list() },
  COOKIE_DOMAIN: { schema: optionalStr() },
  SESSION_SECRET: {
    schema: str().min(32, 'must be at least 32 characters'),
    local: LOCAL_SESSION_SECRET,
  },
  API_DOCS_ENABLED: { schema: bool().optional() },
  METRICS_ENABLED: { schema: bool(), default: 'true' },
  HTTP_KEEP_ALIVE_TIMEOUT_MS: { schema: positiveInt(), default: '65000' },
  HTTP_HEADERS_TIMEOUT_MS: { schema: positiveInt(), default: '20000' },
  HTTP_REQUEST_TIMEOUT_MS: { schema: positiveInt(), default: '120000' },
  HTTP_MAX_HEADER_BYTES: { schema: positiveInt(), default: '16384' },
  SHUTDOWN_TIMEOUT_SECS: { schema: positiveInt(), default: '30' },
  SHUTDOWN_DELAY_SECS: { schema: z.coerce.number().int().min(0), default: '0' },
  STABILITY_CONCURRENCY_LIMIT: { schema: positiveInt(), default: '500' },
  STABILITY_BUFFER_SIZE: { schema: positiveInt(), default: '1024' },
  STABILITY_TIMEOUT_SECS: { schema: positiveInt(), default: '30' },
  UPLOAD_CONCURRENCY_LIMIT: { schema: positiveInt(), default: '16' },
  AUTH_SESSION_SLIDING_TTL_HOURS: { schema: positiveInt(), default: '168' },
  AUTH_SESSION_REFRESH_THRESHOLD: { schema: positiveInt().max(100), default: '50' },
  AUTH_SESSION_MAX_LIFETIME_HOURS: { schema: positiveInt(), default: '720' },
  OUTBOX_RELAY_INTERVAL_MS: { schema: positiveInt(), default: '200' },
  EVENT_STREAM_KEEP_ALIVE_MS: { schema: positiveInt(), default: '15000' },
  EVENT_STREAM_CLIENT_BUFFER_BYTES: { schema: positiveInt(), default: '1048576' },
  TURNSTILE_SECRET_KEY: { schema: optionalStr() },
  TURNSTILE_VERIFY_URL: {
    schema: url(),
    default: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  },
  TURNSTILE_TIMEOUT_MS: { schema: positiveInt(), default: '5000' },
  AUTH_FACTOR_FAILURE_LIMIT: { schema: positiveInt(), default: '5' },
  AUTH_FACTOR_FAILURE_WINDOW_SECS: { schema: positiveInt(), default: '900' },
  AUTH_PASSWORD_FAILURE_LIMIT: { schema: positiveInt(), default: '5' },
  AUTH_PASSWORD_FAILURE_WINDOW_SECS: { schema: positiveInt(), default: '900' },
  TOTP_ENCRYPTION_KEY: { schema: aes256Key(), local: LOCAL_TOTP_ENCRYPTION_KEY },
  TOTP_SECRET: {
    schema: str().min(32, 'must be at least 32 characters'),
    local: LOCAL_TOTP_SECRET,
  },
};

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env) {
  const runtime = readRuntimeEnvironment(env);
  const { values: e, problems } = parseEnv(serverEnvSpec, env, runtime);
  if (problems.length > 0) throw new ConfigError(problems);
  const shared = buildSharedConfig(e, runtime);
  problems.push(...shared.problems);
  const oauth = buildOAuthConfig(e, runtime);
  problems.push(...oauth.problems);
  if (e.SHUTDOWN_DELAY_SECS >= e.SHUTDOWN_TIMEOUT_SECS) {
    problems.push('SHUTDOWN_DELAY_SECS: must be less than SHUTDOWN_TIMEOUT_SECS');
  }
  if (e.HTTP_MAX_HEADER_BYTES < MIN_HEADER_BYTES) {
    problems.push(`HTTP_MAX_HEADER_BYTES: must be at least ${MIN_HEADER_BYTES}`);
  }
  // Node refuses to start a server whose headers may take longer than the whole request.
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  if (runtime === 'production') {
    if (e.CORS_ALLOWED_ORIGINS.length === 0) {
      problems.push('CORS_ALLOWED_ORIGINS: is required in production');
    }
    if (PLACEHOLDER.test(e.SESSION_SECRET)) {
      problems.push('SESSION_SECRET: is a placeholder; generate a random secret');
    }
    if (PLACEHOLDER.test(e.TOTP_ENCRYPTION_KEY.toString('latin1'))) {
      problems.push('TOTP_ENCRYPTION_KEY: is a placeholder; generate a random key');
    }
    if (PLACEHOLDER.test(e.TOTP_SECRET)) {
      problems.push('TOTP_SECRET: is a placeholder; generate a random secret');
    }
    // Cloudflare's published test secrets (1x…AA passes every token) would turn the check off.
    if (e.TURNSTILE_SECRET_KEY && /^\dx0+AA$/.test(e.TURNSTILE_SECRET_KEY)) {
      problems.push('TURNSTILE_SECRET_KEY: is a Cloudflare test key; use the site secret');
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...shared.config,
    http: {
      host: e.HOST,
      port: e.PORT,
      trustProxy: e.TRUST_PROXY,
      corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
      apiDocsEnabled: e.API_DOCS_ENABLED ?? runtime === 'development',
      metricsEnabled: e.METRICS_ENABLED,
      jsonBodyLimitBytes: 1024 * 1024,
      maxConcurrentUploads: e.UPLOAD_CONCURRENCY_LIMIT,
      /** How long an idle keep-alive socket stays open between requests. */
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      /** From a request's first byte to the end of its headers. */
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      /** From a request's first byte to the end of its body. */
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      maxHeaderBytes: e.HTTP_MAX_HEADER_BYTES,
    },
    /** Bound on the whole shutdown after SIGTERM, past which the process exits with code 1. */
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_SECS * 1000,
    /** How long readiness says 503 before the server stops accepting: the balancer's notice. */
    shutdownDelayMs: e.SHUTDOWN_DELAY_SECS * 1000,
    stability: {
      concurrencyLimit: e.STABILITY_CONCURRENCY_LIMIT,
      bufferSize: e.STABILITY_BUFFER_SIZE,
      timeoutMs: e.STABILITY_TIMEOUT_SECS * 1000,
    },
    session: {
      secret: e.SESSION_SECRET,
      cookieDomain: e.COOKIE_DOMAIN,
      slidingTtlHours: e.AUTH_SESSION_SLIDING_TTL_HOURS,
      refreshThresholdPercent: e.AUTH_SESSION_REFRESH_THRESHOLD,
      maxLifetimeHours: e.AUTH_SESSION_MAX_LIFETIME_HOURS,
    },
    outbox: { relayIntervalMs: e.OUTBOX_RELAY_INTERVAL_MS },
    eventStream: {
      keepAliveMs: e.EVENT_STREAM_KEEP_ALIVE_MS,
      maxBufferedBytes: e.EVENT_STREAM_CLIENT_BUFFER_BYTES,
    },
    turnstile: {
      /** Unset: operations marked `x-turnstile` are not checked. */
      secretKey: e.TURNSTILE_SECRET_KEY,
      verifyUrl: e.TURNSTILE_VERIFY_URL,
      timeoutMs: e.TURNSTILE_TIMEOUT_MS,
    },
    failureBudgets: {
      /** Wrong TOTP and backup codes per user (login, enable, disable, regenerate). */
      factor: {
        limit: e.AUTH_FACTOR_FAILURE_LIMIT,
        windowSeconds: e.AUTH_FACTOR_FAILURE_WINDOW_SECS,
      },
      /** Wrong passwords per user when re-authenticating (change password, change email). */
      password: {
        limit: e.AUTH_PASSWORD_FAILURE_LIMIT,
        windowSeconds: e.AUTH_PASSWORD_FAILURE_WINDOW_SECS,
      },
    },
    totp: {
      /** Encrypts TOTP secrets at rest (AES-256-GCM). */
      encryptionKey: e.TOTP_ENCRYPTION_KEY,
      /** Keys the HMAC-SHA256 under which backup codes are stored. */
      backupCodeSecret: e.TOTP_SECRET,
    },
    oauth: oauth.config,
  };
}

export type ServerConfig = ReturnType<typeof loadServerConfig>;
