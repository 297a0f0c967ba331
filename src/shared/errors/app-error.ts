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
    super(details ?? code, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorStatuses[code];
    this.details = details;
    this.headers = options.headers ?? {};
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
