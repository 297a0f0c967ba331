import { readFileSync } from 'node:fs';

export interface StartCommand {
  /** The variables the script assigns before `node`. */
  env: Record<string, string>;
  /** The Node flags it passes. */
  flags: string[];
  /** The entry file it runs. */
  entry: string;
}

/**
 * How an npm script of package.json runs its process (`start` for the server, `worker` for the
 * worker): the environment it sets, the Node flags it passes and the file it runs. The bench
 * and the reliability suite start exactly that (heap sizing and allocator settings included),
 * without npm in between to stand between them and the process's pid and signals.
 */
export function startCommand(script: 'start' | 'worker' = 'start'): StartCommand {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = manifest.scripts[script]!.split(/\s+/);
  const node = words.indexOf('node');
  const env = Object.fromEntries(
    words.slice(0, node).map((word) => word.split('=', 2) as [string, string]),
  );
  const rest = words.slice(node + 1);
  const flags = rest.filter((word) => word.startsWith('--'));
  const entry = rest.find((word) => !word.startsWith('--'))!;
  return { env, flags, entry };
}
