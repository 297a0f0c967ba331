import { describe, expect, it } from 'vitest';
import { threadPoolBudget, threadPoolSize } from './threadpool-budget.ts';

describe('the thread pool budget', () => {
  it.each([
    // cores, threads, hashes, images
    [2, 4, 1, 1],
    [4, 4, 2, 1],
    [8, 4, 2, 1],
    [64, 4, 2, 1],
    [8, 6, 3, 2],
    [64, 16, 3, 2],
    [3, 6, 2, 2],
  ])(
    'When there are %i cores and %i threads, then hashes get %i and images %i, leaving a thread free',
    (cores, threads, hashes, images) => {
      const budget = threadPoolBudget(cores, threads);
      expect(budget).toEqual({ hashes, images });
      expect(budget.hashes + budget.images).toBeLessThan(threads);
    },
  );

  it('When the pool or the machine is tiny, then each tenant still gets one slot', () => {
    expect(threadPoolBudget(1, 1)).toEqual({ hashes: 1, images: 1 });
    expect(threadPoolBudget(16, 2)).toEqual({ hashes: 1, images: 1 });
  });

  it('When UV_THREADPOOL_SIZE is unset or not a positive integer, then the size is libuv’s default of 4', () => {
    expect(threadPoolSize({})).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: 'lots' })).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '6' })).toBe(6);
  });
});
