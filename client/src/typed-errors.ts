import type { ErrorCodes, ErrorStatuses, OperationIds } from './generated/contract.ts';
import type { components, paths } from './generated/openapi.ts';

export type OperationId = keyof ErrorCodes;

/** The codes operation `Id` can answer with, as the contract lists them in `x-error-codes`. */
export type ErrorCode<Id extends OperationId> = ErrorCodes[Id];

/**
 * The error body operation `Id` can answer with (at `Status`, when given). It is a union by
 * code, each with its own status, so checking `code` also narrows `status`, and a code the
 * operation cannot return is a compile error rather than a branch that never runs.
 */
export type ApiError<Id extends OperationId, Status extends number = number> = {
  [Code in ErrorCodes[Id]]: ErrorStatuses[Code] extends Status
    ? Omit<components['schemas']['Error'], 'status' | 'code'> & {
        status: ErrorStatuses[Code];
        code: Code;
      }
    : never;
}[ErrorCodes[Id]];

type IsErrorStatus<Status> = Status extends number
  ? `${Status}` extends `4${string}` | `5${string}`
    ? true
    : false
  : false;

/** An operation whose error responses carry its own codes instead of every ErrorCode. */
type WithTypedErrors<Operation, Id extends OperationId> = Operation extends {
  responses: infer Responses;
}
  ? Omit<Operation, 'responses'> & {
      responses: {
        [Status in keyof Responses]: IsErrorStatus<Status> extends true
          ? Omit<Responses[Status], 'content'> & {
              content: { 'application/json': ApiError<Id, Status & number> };
            }
          : Responses[Status];
      };
    }
  : Operation;

/** openapi-typescript's `paths`, with each operation's errors narrowed to its own codes. */
export type ExpressKitPaths = {
  [Path in keyof paths]: {
    [Method in keyof paths[Path]]: Path extends keyof OperationIds
      ? Method extends keyof OperationIds[Path]
        ? OperationIds[Path][Method] extends OperationId
          ? WithTypedErrors<paths[Path][Method], OperationIds[Path][Method]>
          : paths[Path][Method]
        : paths[Path][Method]
      : paths[Path][Method];
  };
};
