import {
  optionalStr,
  positiveInt,
  url,
  type ParsedEnv,
  type RuntimeEnvironment,
} from './env-schema.ts';
import type { OAuthProvider } from '../shared/db/rows.ts';

/**
 * The OAuth providers (SPEC §4). Every endpoint is a variable so tests and staging can point a
 * provider at another server; the defaults are the providers' real endpoints. A provider whose
 * client id is unset is disabled: the server starts and its operations answer 404.
 */
export const oauthEnvSpec = {
  GOOGLE_CLIENT_ID: { schema: optionalStr() },
  GOOGLE_CLIENT_SECRET: { schema: optionalStr() },
  GOOGLE_REDIRECT_URI: {
    schema: url().optional(),
    local: 'http://localhost:3000/oauth/google/callback',
  },
  GOOGLE_AUTH_URL: { schema: url(), default: 'https://accounts.google.com/o/oauth2/v2/auth' },
  GOOGLE_TOKEN_URL: { schema: url(), default: 'https://oauth2.googleapis.com/token' },
  GOOGLE_USERINFO_URL: {
    schema: url(),
    default: 'https://openidconnect.googleapis.com/v1/userinfo',
  },
  GITHUB_CLIENT_ID: { schema: optionalStr() },
  GITHUB_CLIENT_SECRET: { schema: optionalStr() },
  GITHUB_REDIRECT_URI: {
    schema: url().optional(),
    local: 'http://localhost:3000/oauth/github/callback',
  },
  GITHUB_AUTH_URL: { schema: url(), default: 'https://github.com/login/oauth/authorize' },
  GITHUB_TOKEN_URL: { schema: url(), default: 'https://github.com/login/oauth/access_token' },
  GITHUB_API_URL: { schema: url(), default: 'https://api.github.com' },
  OAUTH_PENDING_SIGNUP_TTL_MINUTES: { schema: positiveInt(), default: '10' },
};

export interface OAuthProviderConfig {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  authUrl: string;
  tokenUrl: string;
  /** Google: the userinfo endpoint. GitHub: the REST API base of `/user` and `/user/emails`. */
  profileUrl: string;
}

/** Bounds every call to a provider; a provider that does not answer in time is a 502. */
const PROVIDER_TIMEOUT_MS = 10_000;
/** How long the browser has to come back from the provider (SPEC §4: 5 minutes). */
const STATE_TTL_SECONDS = 300;

export function buildOAuthConfig(e: ParsedEnv<typeof oauthEnvSpec>, runtime: RuntimeEnvironment) {
  const problems: string[] = [];
  /**
   * The token endpoint gets the client secret and the code, the profile endpoint the access
   * token: in production neither goes over plain http. Tests and local stacks use local servers.
   */
  const requireHttps = (variables: (keyof typeof oauthEnvSpec)[]) => {
    if (runtime !== 'production') return;
    for (const variable of variables) {
      const value = e[variable];
      if (typeof value === 'string' && new URL(value).protocol !== 'https:') {
        problems.push(`${variable}: must be an https URL in production`);
      }
    }
  };
  const provider = (
    prefix: 'GOOGLE' | 'GITHUB',
    endpoints: Pick<OAuthProviderConfig, 'authUrl' | 'tokenUrl' | 'profileUrl'>,
  ): OAuthProviderConfig | undefined => {
    const clientId = e[`${prefix}_CLIENT_ID`];
    if (clientId === undefined) return undefined;
    const clientSecret = e[`${prefix}_CLIENT_SECRET`];
    const redirectUri = e[`${prefix}_REDIRECT_URI`];
    if (clientSecret === undefined) {
      problems.push(`${prefix}_CLIENT_SECRET: is required when ${prefix}_CLIENT_ID is set`);
    }
    if (redirectUri === undefined) {
      problems.push(`${prefix}_REDIRECT_URI: is required when ${prefix}_CLIENT_ID is set`);
    }
    const endpointVariables: (keyof typeof oauthEnvSpec)[] =
      prefix === 'GOOGLE'
        ? ['GOOGLE_AUTH_URL', 'GOOGLE_TOKEN_URL', 'GOOGLE_USERINFO_URL']
        : ['GITHUB_AUTH_URL', 'GITHUB_TOKEN_URL', 'GITHUB_API_URL'];
    requireHttps(endpointVariables);
    if (clientSecret === undefined || redirectUri === undefined) return undefined;
    return { clientId, clientSecret, redirectUri, ...endpoints };
  };
  const providers: Partial<Record<OAuthProvider, OAuthProviderConfig>> = {};
  const google = provider('GOOGLE', {
    authUrl: e.GOOGLE_AUTH_URL,
    tokenUrl: e.GOOGLE_TOKEN_URL,
    profileUrl: e.GOOGLE_USERINFO_URL,
  });
  if (google) providers.google = google;
  const github = provider('GITHUB', {
    authUrl: e.GITHUB_AUTH_URL,
    tokenUrl: e.GITHUB_TOKEN_URL,
    profileUrl: e.GITHUB_API_URL.replace(/\/+$/, ''),
  });
  if (github) providers.github = github;
  return {
    problems,
    config: {
      providers,
      stateTtlSeconds: STATE_TTL_SECONDS,
      pendingSignupTtlSeconds: e.OAUTH_PENDING_SIGNUP_TTL_MINUTES * 60,
      timeoutMs: PROVIDER_TIMEOUT_MS,
    },
  };
}

export type OAuthConfig = ReturnType<typeof buildOAuthConfig>['config'];
