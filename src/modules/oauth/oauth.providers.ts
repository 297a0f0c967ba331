import type { OAuthConfig, OAuthProviderConfig } from '../../config/oauth.ts';
import type { OAuthProvider } from '../../shared/db/rows.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { fetchGithubProfile, GITHUB_SCOPES } from './oauth.github.ts';
import { fetchGoogleProfile, GOOGLE_SCOPES } from './oauth.google.ts';
import type { ProviderProfile } from './oauth.profile.ts';
import { authorizationUrl, exchangeCode } from './oauth.token.ts';

/** A configured provider: the one generic code + PKCE client with the provider's profile call. */
export interface EnabledProvider {
  label: string;
  authorizationUrl(state: string, codeChallenge: string): string;
  /** Exchanges the code and reads the account it was issued for. */
  signedInProfile(code: string, codeVerifier: string): Promise<ProviderProfile>;
}

export const providerLabels: Record<OAuthProvider, string> = { google: 'Google', github: 'GitHub' };

export function createOAuthProviders(config: OAuthConfig, userAgent: string) {
  const { timeoutMs } = config;
  const profileOf: Record<
    OAuthProvider,
    (provider: OAuthProviderConfig, token: string) => Promise<ProviderProfile>
  > = {
    google: (provider, token) => fetchGoogleProfile(provider, token, timeoutMs),
    github: (provider, token) => fetchGithubProfile(provider, token, { timeoutMs, userAgent }),
  };
  const scopes: Record<OAuthProvider, readonly string[]> = {
    google: GOOGLE_SCOPES,
    github: GITHUB_SCOPES,
  };

  return {
    /** A disabled provider does not exist on this server: 404, like an unknown route. */
    enabled(name: OAuthProvider): EnabledProvider {
      const provider = config.providers[name];
      if (!provider) {
        throw new AppError(
          'general:not_found',
          `Sign-in with ${providerLabels[name]} is not enabled`,
        );
      }
      return {
        label: providerLabels[name],
        authorizationUrl: (state, codeChallenge) =>
          authorizationUrl(provider, { scopes: scopes[name], state, codeChallenge }),
        async signedInProfile(code, codeVerifier) {
          const token = await exchangeCode(provider, { code, codeVerifier, timeoutMs });
          return profileOf[name](provider, token);
        },
      };
    },
  };
}
