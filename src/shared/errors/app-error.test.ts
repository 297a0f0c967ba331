import { describe, expect, it } from 'vitest';
import { AppError } from './app-error.ts';

const frames = (error: Error) =>
  (error.stack ?? '').split('\n').filter((l) => l.trim().startsWith('at '));

describe('AppError', () => {
  it('When a 4xx is raised, then it carries no stack frames and the global stack limit is untouched', () => {
    const before = Error.stackTraceLimit;
    const error = new AppError('auth:unauthorized', 'Authentication required');
    expect(frames(error)).toEqual([]);
    expect(error).toMatchObject({ status: 401, code: 'auth:unauthorized' });
    expect(Error.stackTraceLimit).toBe(before);
  });

  it('When a 5xx is raised, then its stack is kept for the log', () => {
    const error = new AppError('system:internal_error', 'boom');
    expect(frames(error).length).toBeGreaterThan(0);
  });
});
