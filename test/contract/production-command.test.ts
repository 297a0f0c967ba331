import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * `npm start` and the image's CMD must run the server alike: the heap flags and the allocator
 * setting are what keep its memory where docs/performance.md says it is, the pretenuring flag
 * what keeps its young collections cheap (the same page says why), and the thread pool's size
 * is what threadPoolBudget splits between argon2 and sharp.
 */
const startScript = (
  JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
).scripts.start!;
const dockerfile = readFileSync('Dockerfile', 'utf8');

describe('the production command', () => {
  it('When the image CMD is compared with npm start, then both run the server with the same Node flags', () => {
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const words = startScript.split(/\s+/);
    expect(cmd).toEqual(words.slice(words.indexOf('node')));
    expect(cmd.filter((word) => word.startsWith('--'))).toEqual([
      '--max-old-space-size=512',
      '--max-semi-space-size=16',
      '--no-allocation-site-pretenuring',
    ]);
  });

  it("When the pinned Node starts with the start command's flags, then it accepts every one of them", () => {
    const words = startScript.split(/\s+/);
    const flags = words.filter((word) => word.startsWith('--'));
    // Node exits with 9 on a flag its V8 no longer knows, so upgrading the pinned Node to one
    // that drops a flag fails here. NODE_OPTIONS is the caller's, not the command's.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const run = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], {
      encoding: 'utf8',
      env,
      timeout: 30_000,
    });
    expect(run.stderr).not.toMatch(/bad option/);
    expect(run.status).toBe(0);
  });

  it("When the compose file starts the API, then it runs the image's CMD, flags and all", () => {
    // Merge keys on, as compose reads them: a command on the x-app anchor reaches the service.
    const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
      services: Record<string, { command?: unknown }>;
    };
    expect(compose.services.api).toBeDefined();
    expect(compose.services.api!.command).toBeUndefined();
  });

  it('When the image environment is compared with npm start, then both set the allocator threshold and the thread pool size', () => {
    const words = startScript.split(/\s+/);
    const assignments = words.slice(0, words.indexOf('node'));
    expect(assignments).toEqual(['MALLOC_MMAP_THRESHOLD_=131072', 'UV_THREADPOOL_SIZE=6']);
    // The ENV instruction's lines, each but the last ending in a backslash.
    const env = /^ENV NODE_ENV=(?:[^\n]*\\\n)*[^\n]*/m.exec(dockerfile)![0];
    for (const assignment of assignments) {
      expect(env).toMatch(new RegExp(`^\\s+${assignment}(?: \\\\)?$`, 'm'));
    }
  });
});
