/**
 * Compile-time proof of the client's typed errors, checked by `npm run typecheck` (tsc over
 * test/): each `@ts-expect-error` must meet an error, or tsc fails on the unused directive.
 * Nothing here runs; vitest picks up only *.test.ts.
 */
import { createExpressKitClient } from '../../client/src/index.ts';
import type { ApiError, ErrorCode, ServerEvent } from '../../client/src/index.ts';

const client = createExpressKitClient({ baseUrl: 'http://127.0.0.1:8000', cookieJar: true });

export async function totpVerifyErrors(): Promise<void> {
  const { error } = await client.POST('/v0/auth/totp/verify', {
    body: { temp_token: 'token', code: '123456' },
  });
  if (!error) return;
  if (error.code === 'totp:too_many_attempts') {
    // The code narrows the status.
    const status: 429 = error.status;
    void status;
  }
  // @ts-expect-error totpVerify cannot answer post:not_found, so the comparison cannot be true
  if (error.code === 'post:not_found') return;
  // @ts-expect-error a 400 is never totp:too_many_attempts
  const wrongStatus: ApiError<'totpVerify', 400>['code'] = 'totp:too_many_attempts';
  void wrongStatus;
}

export async function getMeErrors(): Promise<void> {
  const { data, error } = await client.GET('/v0/user/me');
  if (data) {
    const handle: string = data.handle;
    void handle;
  }
  // @ts-expect-error getMe lists no TOTP codes
  if (error?.code === 'totp:invalid_code') return;
}

export function errorCodeUnions(): void {
  const listed: ErrorCode<'login'> = 'auth:invalid_credentials';
  // @ts-expect-error login does not answer session:not_found
  const foreign: ErrorCode<'login'> = 'session:not_found';
  void [listed, foreign];
}

export async function uploadAndEvents(image: Blob): Promise<void> {
  const { data, error } = await client.upload('uploadProfileImage', { file: image });
  if (data) {
    const url: string | null = data.image_url;
    void url;
  }
  if (error?.code === 'file:too_large') {
    const status: 413 = error.status;
    void status;
  }
  // @ts-expect-error the file field takes a Blob, not the string openapi-typescript declares
  await client.upload('uploadBannerImage', { file: 'not bytes' });
  // @ts-expect-error getMe is not a multipart operation
  await client.upload('getMe', { file: image });

  for await (const event of client.events('streamActions', {
    params: { query: { action: 'auth:login' } },
  })) {
    const typed: ServerEvent<'streamActions'> = event;
    const action: string = event.data.action;
    // @ts-expect-error streamActions sends no event of this name
    if (event.event === 'post_created') return;
    void [typed, action];
  }
}
