import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/shared/logger.ts';

export interface LogEntry {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** A logger that keeps every entry (debug included) for assertions instead of printing it. */
export function createCapturingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [
      new winston.transports.Stream({
        stream: new Writable({
          write(chunk: Buffer, _encoding, done) {
            entries.push(JSON.parse(chunk.toString()) as LogEntry);
            done();
          },
        }),
      }),
    ],
  });
  return { logger, entries };
}
