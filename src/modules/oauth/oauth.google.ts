import type { OAuthProviderConfig } from '../../config/oauth.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { callProvider, isRecord } from './oauth.http.ts';
import { toAvatarUrl, toDisplayName, toEmail, type ProviderProfile } from './oauth.profile.ts';

export const GOOGLE_SCOPES = ['openid', 'email', 'profile'] as const;

const fetchFailed = (details: string) => new AppError('oauth:user_info_fetch_failed', details);

/**
 * The OpenID Connect userinfo of the signed-in Google account. Google lets an account carry an
 * address it never verified (a Workspace alias, an unconfirmed secondary sign-up): such an
 * address proves nothing about who owns it, so it is refused.
 */
export async function fetchGoogleProfile(
  provider: OAuthProviderConfig,
  accessToken: string,
  timeoutMs: number,
): Promise<ProviderProfile> {
  const { status, body } = await callProvider(
    provider.profileUrl,
    { headers: { accept: 'application/json', authorization: `Bearer ${accessToken}` }, timeoutMs },
    'oauth:user_info_fetch_failed',
  );
  if (status !== 200 || !isRecord(body)) {
    throw fetchFailed(`Google userinfo answered HTTP ${status}`);
  }
  const email = toEmail(body.email);
  if (typeof body.sub !== 'string' || body.sub === '' || email === null) {
    throw fetchFailed('Google userinfo has no account id or email address');
  }
  // The older v2 userinfo endpoint says `verified_email`, and some responses carry the flag
  // as the string "true".
  const verified = body.email_verified ?? body.verified_email;
  if (verified !== true && verified !== 'true') {
    throw new AppError('oauth:email_not_verified', 'The Google account email is not verified');
  }
  return {
    providerUserId: body.sub,
    email,
    displayName: toDisplayName(body.name),
    avatarUrl: toAvatarUrl(body.picture),
  };
}
