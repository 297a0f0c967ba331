import { createRequire } from 'node:module';

type PathToRegexp = (path: string, options?: Record<string, unknown>) => unknown;

/**
 * express-openapi-validator 5.6 finds a request's operation by compiling a path-to-regexp
 * pattern for every route of the contract on every request: with ~40 paths that was the
 * largest single cost of the pipeline. It calls `pathToRegexp` through the module's exports
 * object, so memoising that export (the same instance the validator resolves) removes the
 * cost without forking the library. Compiled patterns are plain non-global RegExps, so
 * sharing them between requests is safe.
 *
 * This leans on the validator's internals, so package.json pins its exact version and
 * test/http/validator-route-cache.test.ts proves on real requests that the memo is used.
 */
export function memoiseValidatorRouteRegexps(): void {
  const requireFromValidator = createRequire(import.meta.resolve('express-openapi-validator'));
  const module = requireFromValidator('path-to-regexp') as {
    pathToRegexp?: PathToRegexp & { memoised?: true };
  };
  if (typeof module.pathToRegexp !== 'function') {
    throw new Error(
      'path-to-regexp as express-openapi-validator resolves it has no pathToRegexp export; ' +
        'review src/http/validator-route-cache.ts for this validator version',
    );
  }
  if (module.pathToRegexp.memoised) return;
  const original = module.pathToRegexp;
  // The validator passes a path string and {sensitive, strict}: per path, one slot for each
  // of the four option combinations, so the hot path builds no key at all.
  const byPath = new Map<string, unknown[]>();
  const memoised: PathToRegexp & { memoised?: true } = (path, options) => {
    let slots = byPath.get(path);
    if (!slots) byPath.set(path, (slots = []));
    const slot = (options?.sensitive ? 1 : 0) + (options?.strict ? 2 : 0);
    return (slots[slot] ??= original(path, options));
  };
  memoised.memoised = true;
  module.pathToRegexp = memoised;
}
