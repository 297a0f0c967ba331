import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { memoiseValidatorRouteRegexps } from './validator-route-cache.ts';

const requireFromValidator = createRequire(import.meta.resolve('express-openapi-validator'));
const pathToRegexpModule = requireFromValidator('path-to-regexp') as {
  pathToRegexp: (path: string, options?: object) => { regexp: RegExp; keys: { name: string }[] };
};

describe('validator route regexps', () => {
  it('When memoised, then the same route compiles once and still matches with its keys', () => {
    memoiseValidatorRouteRegexps();
    memoiseValidatorRouteRegexps();
    const options = { sensitive: false, strict: false };
    const first = pathToRegexpModule.pathToRegexp('/v0/posts/:id', options);
    const again = pathToRegexpModule.pathToRegexp('/v0/posts/:id', { ...options });
    expect(again).toBe(first);
    expect(first.regexp.exec('/v0/posts/abc')?.[1]).toBe('abc');
    expect(first.keys.map((k) => k.name)).toEqual(['id']);
  });

  it('When the matching options differ, then each gets its own pattern', () => {
    memoiseValidatorRouteRegexps();
    const insensitive = pathToRegexpModule.pathToRegexp('/v0/Posts', { sensitive: false });
    const sensitive = pathToRegexpModule.pathToRegexp('/v0/Posts', { sensitive: true });
    expect(insensitive).not.toBe(sensitive);
    expect(insensitive.regexp.test('/v0/posts')).toBe(true);
    expect(sensitive.regexp.test('/v0/posts')).toBe(false);
  });
});
