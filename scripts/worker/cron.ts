import { loadWorkerConfig } from '../../src/config/worker.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createCronDependencies } from '../../worker/cron/dependencies.ts';
import { cronJobs } from '../../worker/cron/jobs.ts';
import { listCronJobs, runCronJobNow } from '../../worker/cron/scheduler.ts';
import { runCommand } from './run-command.ts';

// npm run worker:cron -- list | <job>
// Runs a job now under the same lock as the scheduled ticks, so it never overlaps a replica.

const usage = `usage: npm run worker:cron -- list | ${cronJobs.map((job) => job.name).join(' | ')}`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  const config = loadWorkerConfig();
  if (command === 'list') {
    for (const job of listCronJobs(config)) {
      const schedule = `${job.schedule} (${config.cron.timezone})`;
      console.log(
        `${job.name.padEnd(14)} ${schedule.padEnd(28)} next run ${job.nextRun?.toISOString() ?? '-'}`,
      );
    }
    return 0;
  }
  if (!command || !cronJobs.some((job) => job.name === command)) {
    console.error(command ? `unknown cron job "${command}"\n${usage}` : usage);
    return 2;
  }

  const logger = createLogger({ env: config.env, level: config.logLevel, service: 'cron' });
  const deps = await createCronDependencies(config, logger);
  try {
    const result = await runCronJobNow(command, deps, { lockTtlMs: config.cron.lockTtlMs });
    if (result.outcome === 'skipped') {
      console.error(`${command}: skipped, another process holds its lock`);
      return 1;
    }
    if (result.outcome === 'failed') {
      const reason = result.error instanceof Error ? result.error.message : String(result.error);
      console.error(`${command}: failed after ${result.durationMs} ms: ${reason}`);
      return 1;
    }
    const counts = Object.entries(result.summary)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    console.log(`${command}: ok in ${result.durationMs} ms ${counts}`.trimEnd());
    return 0;
  } finally {
    await deps.close();
  }
}

await runCommand(main);
