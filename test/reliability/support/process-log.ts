import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import type { KitProcess } from './processes.ts';

export interface LogEntry {
  level: string;
  message: string;
  meta: Record<string, unknown>;
}

// The readable format outside production: `<time> <level> <message> <JSON meta>`, level coloured.
const LINE = /^\S+ (\w+) (.*?)(?: (\{.*\}))?$/;

/** The meta of a log line, or undefined for a line that only looks like one (stray output). */
function parseMeta(meta: string | undefined): Record<string, unknown> | undefined {
  if (meta === undefined) return {};
  try {
    return JSON.parse(meta) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * What the process logged since it was last started (startServerProcess and startWorkerProcess
 * append to the log file, each start behind a `===` line), one entry per log line; lines that
 * are not log lines are left out.
 */
export function logEntries(kit: KitProcess): LogEntry[] {
  const text = readFileSync(kit.logFile, 'utf8');
  const thisStart = text.slice(text.lastIndexOf('\n=== ') + 1);
  return thisStart
    .split('\n')
    .slice(1)
    .map((line) => LINE.exec(stripVTControlCharacters(line)))
    .flatMap((match) => {
      if (match === null) return [];
      const [, level, message, text] = match;
      const meta = parseMeta(text);
      return meta ? [{ level: level!, message: message!, meta }] : [];
    });
}
