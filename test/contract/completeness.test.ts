import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../src/generated/operations.ts';
import { loadContract } from '../../src/http/contract.ts';
import { buildRouter, toExpressPath } from '../../src/http/router.ts';
import type { OperationId } from '../../src/http/typed-handler.ts';
import { errorStatuses } from '../../src/shared/errors/codes.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const NON_CONTRACT_ROUTES = new Set(['GET /openapi.json']);

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function expressRoutes(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`);
    }
    return layer.handle?.stack ? expressRoutes(layer.handle.stack) : [];
  });
}

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('the API surface equals the contract', () => {
  const contract = loadContract();
  const declared = Object.entries(contract.paths).flatMap(([path, item]) =>
    Object.keys(item as object)
      .filter((key) => HTTP_METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );

  it('When the generated operation list is compared with openapi.yaml, then they match', () => {
    const generated = operations.map((op) => `${op.method.toUpperCase()} ${op.path}`);
    expect([...generated].sort()).toEqual([...declared].sort());
  });

  it('When the app is built, then every operation is either routed or explicitly pending, never both', () => {
    const { routed, pending } = app.built.routes;
    const both = routed.filter((id) => pending.includes(id));
    expect(both).toEqual([]);
    const missing = operations
      .map((op) => op.operationId)
      .filter((id) => !routed.includes(id) && !pending.includes(id));
    expect(missing).toEqual([]);
  });

  it('When the Express routes are listed, then each one is an operation of the contract', () => {
    const contractRoutes = new Set(
      operations.map((op) => `${op.method.toUpperCase()} ${toExpressPath(op.path)}`),
    );
    const stack = (app.built.app as unknown as { router: { stack: Layer[] } }).router.stack;
    const stray = expressRoutes(stack).filter(
      (r) => !contractRoutes.has(r) && !NON_CONTRACT_ROUTES.has(r),
    );
    expect(stray).toEqual([]);
  });

  it('When a handler names an operation the contract lacks, then building the router fails', () => {
    const bogus = {
      operationId: 'deleteEverything' as OperationId,
      before: [],
      handler: () => undefined,
    };
    expect(() => buildRouter([bogus], [])).toThrow('deleteEverything is not in openapi.yaml');
  });

  it('When the contract marks operations pending, then they are exactly the ones mounted at 501', () => {
    const marked = operations.filter((op) => op.pending).map((op) => op.operationId);
    expect([...app.built.routes.pending].sort()).toEqual([...marked].sort());
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
