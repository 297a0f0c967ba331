import { generateSecret, generateURI, verify } from 'otplib';

/** SHA-1, 6 digits, 30 s: what every authenticator app assumes (otplib's defaults). */
const PERIOD_SECONDS = 30;
/** ±1 step around now: a code typed just before or after its step rolled over still works. */
const TOLERANCE_SECONDS = PERIOD_SECONDS;
const SECRET_BYTES = 20;

export const isTotpCode = (code: string) => /^[0-9]{6}$/.test(code);

/** A 160-bit secret, base32 as authenticator apps take it. */
export const newTotpSecret = () => generateSecret({ length: SECRET_BYTES });

export function totpUri(input: { issuer: string; label: string; secret: string }): string {
  return generateURI({ ...input, algorithm: 'sha1', digits: 6, period: PERIOD_SECONDS });
}

export async function totpCodeMatches(secret: string, code: string): Promise<boolean> {
  const result = await verify({ secret, token: code, epochTolerance: TOLERANCE_SECONDS });
  return result.valid;
}
