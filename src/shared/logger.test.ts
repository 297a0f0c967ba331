import { Writable } from 'node:stream';
import winston from 'winston';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { requestContext } from './request-context.ts';

function capture(env: 'production' | 'development') {
  const lines: string[] = [];
  const logger = createLogger({ env, level: 'info', service: 'test' });
  logger.clear();
  logger.add(
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    }),
  );
  return { logger, lines };
}

describe('logger', () => {
  it('When an error is logged as metadata, then its message, code and cause are written', () => {
    const { logger, lines } = capture('production');
    const cause = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    logger.error('publish failed', { err: new Error('relay failed', { cause }) });
    const entry = JSON.parse(lines[0] ?? '{}') as { err: Record<string, unknown>; service: string };
    expect(entry.service).toBe('test');
    expect(entry.err).toMatchObject({
      name: 'Error',
      message: 'relay failed',
      cause: { message: 'connection refused', code: 'ECONNREFUSED' },
    });
    expect(String(entry.err.stack)).toContain('relay failed');
  });

  it('When a line is logged inside a request, then it carries the request id and user id', () => {
    const { logger, lines } = capture('production');
    requestContext.run({ requestId: 'req-1', userId: 'user-1' }, () => logger.info('hello'));
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      message: 'hello',
      request_id: 'req-1',
      user_id: 'user-1',
    });
  });
});
