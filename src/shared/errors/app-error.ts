import { errorStatuses, type ErrorCode } from './codes.ts';

/**
 * The one error type services throw. The wire code is the contract; `details` is a human
 * sentence for 4xx responses (hidden on 5xx outside development).
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    details?: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    const status = errorStatuses[code];
    // A 4xx is an answer, not a fault: nothing logs its stack, and capturing one is the
    // costliest part of refusing a request (a flood of 401s or 429s pays it on every one).
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    try {
      super(details ?? code, { cause: options.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.details = details;
    this.headers = options.headers ?? {};
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
