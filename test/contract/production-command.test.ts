import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * `npm start` and the image's CMD must run the server alike: the heap flags and the allocator
 * setting are what keep its memory where docs/performance.md says it is.
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
    ]);
  });

  it('When the image environment is compared with npm start, then both set the allocator threshold', () => {
    const assignment = /^(MALLOC_MMAP_THRESHOLD_=\d+) node /.exec(startScript)?.[1];
    expect(assignment).toBe('MALLOC_MMAP_THRESHOLD_=131072');
    expect(dockerfile).toMatch(new RegExp(`^\\s+${assignment}$`, 'm'));
  });
});
