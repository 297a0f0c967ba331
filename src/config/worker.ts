import {
  bool,
  ConfigError,
  list,
  optionalStr,
  parseEnv,
  port,
  positiveInt,
  readRuntimeEnvironment,
  str,
} from './env-schema.ts';
import { buildSharedConfig, sharedEnvSpec } from './shared.ts';

export const workerEnvSpec = {
  ...sharedEnvSpec,
  // Only the worker sends mail; the server enqueues it.
  SMTP_HOST: { schema: str(), local: '127.0.0.1' },
  SMTP_PORT: { schema: port(), local: '21025' },
  SMTP_SECURE: { schema: bool(), default: 'false' },
  SMTP_USER: { schema: optionalStr() },
  SMTP_PASSWORD: { schema: optionalStr() },
  EMAIL_FROM: { schema: str(), local: 'ExpressKit <no-reply@expresskit.localhost>' },
  WORKER_HOST: { schema: str(), default: '127.0.0.1' },
  WORKER_METRICS_PORT: { schema: port(), default: '9100' },
  WORKER_SHUTDOWN_TIMEOUT_SECS: { schema: positiveInt(), default: '25' },
  CRON_TIMEZONE: { schema: str(), default: 'UTC' },
  CRON_CLEANUP_SCHEDULE: { schema: str(), default: '0 4 * * 6' },
  CRON_SITEMAP_SCHEDULE: { schema: str(), default: '0 3 * * 0' },
  CRON_ORPHAN_BLOBS_SCHEDULE: { schema: str(), default: '0 5 * * 5' },
  CRON_LOCK_TTL_SECS: { schema: positiveInt(), default: '30' },
  ACTION_LOG_RETENTION_DAYS: { schema: positiveInt(), default: '365' },
  // The hosts each provider serves avatars from; the import job fetches from nowhere else.
  GOOGLE_AVATAR_HOSTS: { schema: list(), default: '*.googleusercontent.com' },
  GITHUB_AVATAR_HOSTS: { schema: list(), default: 'avatars.githubusercontent.com' },
  OAUTH_AVATAR_ALLOW_LOOPBACK: { schema: bool(), default: 'false' },
};

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env) {
  const runtime = readRuntimeEnvironment(env);
  const { values: e, problems } = parseEnv(workerEnvSpec, env, runtime);
  if (problems.length > 0) throw new ConfigError(problems);
  const shared = buildSharedConfig(e, runtime);
  const configProblems = [...shared.problems];
  if (e.OAUTH_AVATAR_ALLOW_LOOPBACK && runtime === 'production') {
    configProblems.push('OAUTH_AVATAR_ALLOW_LOOPBACK: is for tests and refused in production');
  }
  if (configProblems.length > 0) throw new ConfigError(configProblems);
  return {
    ...shared.config,
    smtp: {
      host: e.SMTP_HOST,
      port: e.SMTP_PORT,
      secure: e.SMTP_SECURE,
      user: e.SMTP_USER,
      password: e.SMTP_PASSWORD,
      from: e.EMAIL_FROM,
    },
    worker: {
      host: e.WORKER_HOST,
      metricsPort: e.WORKER_METRICS_PORT,
      shutdownTimeoutMs: e.WORKER_SHUTDOWN_TIMEOUT_SECS * 1000,
    },
    cron: {
      timezone: e.CRON_TIMEZONE,
      lockTtlMs: e.CRON_LOCK_TTL_SECS * 1000,
      schedules: {
        cleanup: e.CRON_CLEANUP_SCHEDULE,
        sitemap: e.CRON_SITEMAP_SCHEDULE,
        orphanBlobs: e.CRON_ORPHAN_BLOBS_SCHEDULE,
      },
    },
    actionLogRetentionDays: e.ACTION_LOG_RETENTION_DAYS,
    avatarImport: {
      // One list: the job carries the URL, and a redirect may cross between providers' CDNs.
      hosts: [...e.GOOGLE_AVATAR_HOSTS, ...e.GITHUB_AVATAR_HOSTS].map((host) => host.toLowerCase()),
      allowLoopback: e.OAUTH_AVATAR_ALLOW_LOOPBACK,
    },
  };
}

export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;
