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

/**
 * What the process logged since it was last started (startServerProcess and startWorkerProcess
 * append to the log file, each start behind a `===` line), one entry per log line.
 */
export function logEntries(kit: KitProcess): LogEntry[] {
  const text = readFileSync(kit.logFile, 'utf8');
  const thisStart = text.slice(text.lastIndexOf('\n=== ') + 1);
  return thisStart
    .split('\n')
    .slice(1)
    .map((line) => LINE.exec(stripVTControlCharacters(line)))
    .filter((match) => match !== null)
    .map(([, level, message, meta]) => ({
      level: level!,
      message: message!,
      meta: meta ? (JSON.parse(meta) as Record<string, unknown>) : {},
    }));
}
