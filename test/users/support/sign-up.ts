import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { uniqueHandle } from '../../support/factories.ts';
import { postJson } from '../../support/http.ts';
import { mailedTokens } from '../../support/outbox.ts';

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

/** The latest verification token mailed to an address; throws when none was. */
export async function latestVerificationToken(db: Knex, to: string): Promise<string> {
  const token = (await mailedTokens(db, to, 'verification')).at(-1);
  if (!token) throw new Error(`no verification email was queued for ${to}`);
  return token;
}
