import { Router, type RequestHandler } from 'express';
import { operations } from '../generated/operations.ts';
import { AppError } from '../shared/errors/app-error.ts';
import type { OperationId, RouteDefinition } from './typed-handler.ts';

type ContractOperation = (typeof operations)[number];

/** `/v0/posts/{id}` → `/v0/posts/:id` */
export function toExpressPath(openapiPath: string): string {
  return openapiPath.replace(/\{([^}]+)\}/g, ':$1');
}

export function findOperation(operationId: string): ContractOperation {
  const operation = operations.find((op) => op.operationId === operationId);
  if (!operation) throw new Error(`Operation ${operationId} is not in openapi.yaml`);
  return operation;
}

export interface MountedRoutes {
  router: Router;
  routed: OperationId[];
  pending: OperationId[];
}

/**
 * Mounts every routed operation at the method and path the contract gives it, and every
 * operation the contract marks `x-pending` at a 501, so the API surface always equals the
 * contract. Routing an operation that is still marked pending is a start-up error.
 */
export function buildRouter(
  routes: RouteDefinition[],
  pending: readonly OperationId[] = operations
    .filter((op) => op.pending)
    .map((op) => op.operationId),
): MountedRoutes {
  const router = Router();
  const seen = new Set<string>();
  const mount = (operationId: OperationId, handlers: RequestHandler[]) => {
    if (seen.has(operationId)) throw new Error(`Operation ${operationId} is routed twice`);
    seen.add(operationId);
    const operation = findOperation(operationId);
    router[operation.method](toExpressPath(operation.path), ...handlers);
  };

  for (const definition of routes) {
    mount(definition.operationId, [...definition.before, definition.handler]);
  }
  for (const operationId of pending) {
    mount(operationId, [
      () => {
        throw new AppError('system:not_implemented', `${operationId} is not implemented yet`);
      },
    ]);
  }
  return { router, routed: routes.map((r) => r.operationId), pending: [...pending] };
}
