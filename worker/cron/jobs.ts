import { cleanupCronJob } from './cleanup.cron.ts';
import type { CronJob } from './cron-job.ts';
import { orphanBlobsCronJob } from './orphan-blobs.cron.ts';
import { sitemapCronJob } from './sitemap.cron.ts';

/** Every job the worker schedules and the manual command can run. */
export const cronJobs: readonly CronJob[] = [cleanupCronJob, sitemapCronJob, orphanBlobsCronJob];
