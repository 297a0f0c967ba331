import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serverEnvSpec } from './server.ts';
import { workerEnvSpec } from './worker.ts';

describe('.env.example', () => {
  it('When compared with the config schemas, then it documents exactly the variables they read', () => {
    const documented = readFileSync('.env.example', 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => line.slice(0, line.indexOf('=')));
    const read = new Set([
      'NODE_ENV',
      ...Object.keys(serverEnvSpec),
      ...Object.keys(workerEnvSpec),
    ]);
    expect([...documented].sort()).toEqual([...read].sort());
  });
});
