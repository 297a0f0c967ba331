import { randomBytes } from 'node:crypto';
import { uniqueHandle } from '../../support/factories.ts';
import { postJson } from '../../support/http.ts';

export interface SignUpBody {
  email: string;
  handle: string;
  display_name: string;
  password: string;
}

/** A valid sign-up nobody else uses. */
export function newSignUp(overrides: Partial<SignUpBody> = {}): SignUpBody {
  const handle = overrides.handle ?? uniqueHandle('s');
  return {
    email: `${handle.toLowerCase()}@example.test`,
    handle,
    display_name: `Signer ${handle}`,
    password: `pw-${randomBytes(12).toString('base64url')}`,
    ...overrides,
  };
}

export const signUp = (baseUrl: string, body: unknown) => postJson(baseUrl, '/v0/users', body);
