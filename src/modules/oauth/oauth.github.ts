import type { OAuthProviderConfig } from '../../config/oauth.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { callProvider, isRecord, type ProviderResponse } from './oauth.http.ts';
import { toAvatarUrl, toDisplayName, toEmail, type ProviderProfile } from './oauth.profile.ts';

/** `user:email` is what lets `/user/emails` list private addresses with their verification. */
export const GITHUB_SCOPES = ['read:user', 'user:email'] as const;

const fetchFailed = (details: string) => new AppError('oauth:user_info_fetch_failed', details);

/**
 * The signed-in GitHub account from `/user` and its primary verified address from
 * `/user/emails`. The `email` of `/user` is only the public address, often null, and says
 * nothing of verification, so it is never used. The id is GitHub's numeric id: logins can be
 * renamed and then taken by someone else.
 */
export async function fetchGithubProfile(
  provider: OAuthProviderConfig,
  accessToken: string,
  options: { timeoutMs: number; userAgent: string },
): Promise<ProviderProfile> {
  const get = (path: string): Promise<ProviderResponse> =>
    callProvider(
      `${provider.profileUrl}${path}`,
      {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${accessToken}`,
          // GitHub's API refuses requests without a User-Agent.
          'user-agent': options.userAgent,
          'x-github-api-version': '2022-11-28',
        },
        timeoutMs: options.timeoutMs,
      },
      'oauth:user_info_fetch_failed',
    );
  const [user, emails] = await Promise.all([get('/user'), get('/user/emails')]);
  if (user.status !== 200 || !isRecord(user.body)) {
    throw fetchFailed(`GitHub /user answered HTTP ${user.status}`);
  }
  if (emails.status !== 200 || !Array.isArray(emails.body)) {
    throw fetchFailed(`GitHub /user/emails answered HTTP ${emails.status}`);
  }
  const id = user.body.id;
  if (typeof id !== 'number' && (typeof id !== 'string' || id === '')) {
    throw fetchFailed('GitHub /user has no account id');
  }
  const primary = emails.body.find(
    (entry): entry is Record<string, unknown> =>
      isRecord(entry) && entry.primary === true && entry.verified === true,
  );
  const email = toEmail(primary?.email);
  if (email === null) {
    throw new AppError(
      'oauth:email_not_verified',
      'The GitHub account has no verified primary email address',
    );
  }
  return {
    providerUserId: String(id),
    email,
    // Many accounts set no name; the login is what they are known by.
    displayName: toDisplayName(user.body.name) ?? toDisplayName(user.body.login),
    avatarUrl: toAvatarUrl(user.body.avatar_url),
  };
}
