import type { RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../src/generated/operations.ts';
import { loadContract } from '../../src/http/contract.ts';
import { buildRouter, toExpressPath, type OperationChain } from '../../src/http/router.ts';
import type { OperationId } from '../../src/http/typed-handler.ts';
import { AppError } from '../../src/shared/errors/app-error.ts';
import { errorStatuses } from '../../src/shared/errors/codes.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const NON_CONTRACT_ROUTES = new Set(['GET /openapi.json']);

interface Layer {
  route?: { path: string; methods: Record<string, boolean>; stack: { handle: RequestHandler }[] };
  /**
   * A router (its stack), a guard in front of one (its router), a series of middleware (its
   * handlers), or the API's dispatcher (its chains).
   */
  handle?: {
    stack?: Layer[];
    handlers?: readonly RequestHandler[];
    router?: { stack: Layer[] };
    chains?: ReadonlyMap<string, OperationChain>;
  };
}

interface MountedRoute {
  route: string;
  /** The last handler of the route: the operation's own, after its guards and middleware. */
  endpoint: RequestHandler;
}

function mountedRoutes(stack: Layer[]): MountedRoute[] {
  return stack.flatMap((layer) => {
    const { route } = layer;
    if (route) {
      const endpoint = route.stack.at(-1)!.handle;
      return Object.keys(route.methods).map((m) => ({
        route: `${m.toUpperCase()} ${route.path}`,
        endpoint,
      }));
    }
    if (layer.handle?.chains) {
      return [...layer.handle.chains.values()].map(({ operation, handlers }) => ({
        route: `${operation.method.toUpperCase()} ${toExpressPath(operation.path)}`,
        endpoint: handlers.at(-1)!,
      }));
    }
    if (layer.handle?.router) return mountedRoutes(layer.handle.router.stack);
    if (layer.handle?.handlers) {
      return mountedRoutes(layer.handle.handlers.map((handle) => ({ handle }) as Layer));
    }
    return layer.handle?.stack ? mountedRoutes(layer.handle.stack) : [];
  });
}

/**
 * Runs an endpoint on a request and a response that throw when touched. A pending operation's
 * endpoint refuses at once with system:not_implemented; a built one has to read its input
 * first, so it stops there, before it can do anything.
 */
async function answersNotImplemented(endpoint: RequestHandler): Promise<boolean> {
  const untouchable = new Proxy(
    {},
    {
      get() {
        throw new Error('the endpoint read the request');
      },
    },
  );
  try {
    await endpoint(untouchable as never, untouchable as never, () => undefined);
  } catch (error) {
    return error instanceof AppError && error.code === 'system:not_implemented';
  }
  return false;
}

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('the API surface equals the contract', () => {
  // Read from openapi.yaml itself, not from anything generated from it or built by the app.
  const declared = Object.entries(loadContract().paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, { operationId: string; 'x-pending'?: boolean }>)
      .filter(([key]) => HTTP_METHODS.includes(key))
      .map(([method, operation]) => ({
        operationId: operation.operationId,
        route: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`,
        pending: operation['x-pending'] === true,
      })),
  );
  const mounted = () =>
    mountedRoutes((app.built.app as unknown as { router: { stack: Layer[] } }).router.stack);

  it('When the generated operation list is compared with openapi.yaml, then they match', () => {
    const generated = operations.map((op) => op.operationId);
    expect([...generated].sort()).toEqual(declared.map((op) => op.operationId).sort());
  });

  it('When the Express routes are listed, then each one is an operation of the contract', () => {
    const contractRoutes = new Set(declared.map((op) => op.route));
    const stray = mounted()
      .map(({ route }) => route)
      .filter((route) => !contractRoutes.has(route) && !NON_CONTRACT_ROUTES.has(route));
    expect(stray).toEqual([]);
  });

  it('When each operation is looked up in the Express stack, then it is routed, or answers 501 exactly when openapi.yaml marks it x-pending', async () => {
    const routes = mounted();
    const found: Record<string, string> = {};
    for (const { operationId, route } of declared) {
      // The last route that matches ends the request; earlier ones (the JSON body parser's)
      // pass it on.
      const endpoint = routes.findLast((mountedRoute) => mountedRoute.route === route)?.endpoint;
      if (!endpoint) found[operationId] = 'missing';
      else found[operationId] = (await answersNotImplemented(endpoint)) ? 'pending' : 'routed';
    }
    const expected = Object.fromEntries(
      declared.map(({ operationId, pending }) => [operationId, pending ? 'pending' : 'routed']),
    );
    expect(found).toEqual(expected);
  });

  it('When a handler names an operation the contract lacks, then building the router fails', () => {
    const bogus = {
      operationId: 'deleteEverything' as OperationId,
      before: [],
      handler: () => undefined,
    };
    expect(() => buildRouter([bogus], [])).toThrow('deleteEverything is not in openapi.yaml');
  });

  it('When the same operation is routed twice, then building the router fails', () => {
    expect(() => buildRouter([], ['getMe', 'getMe'])).toThrow('getMe is routed twice');
  });
});

describe('the error catalogue', () => {
  it('When the code statuses are compared with the contract, then every code maps to the same status', () => {
    const schemas = (
      loadContract().components as { schemas: Record<string, Record<string, unknown>> }
    ).schemas;
    const errorCode = schemas.ErrorCode as {
      enum: string[];
      'x-error-statuses': Record<string, number>;
    };
    expect(Object.keys(errorStatuses).sort()).toEqual([...errorCode.enum].sort());
    expect(errorStatuses).toEqual(errorCode['x-error-statuses']);
  });

  it('When a code is listed, then it has the domain:snake_case form', () => {
    for (const code of Object.keys(errorStatuses)) expect(code).toMatch(/^[a-z_]+:[a-z_]+$/);
  });
});
