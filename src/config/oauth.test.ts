import { describe, expect, it } from 'vitest';
import { ConfigError } from './env-schema.ts';
import { loadServerConfig } from './server.ts';
import { loadWorkerConfig } from './worker.ts';
import { productionEnv } from '../../test/support/production-env.ts';

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('OAuth configuration', () => {
  it('When no client id is set, then both providers are disabled and production starts', () => {
    expect(loadServerConfig(productionEnv).oauth.providers).toEqual({});
    expect(loadServerConfig({}).oauth).toMatchObject({
      providers: {},
      stateTtlSeconds: 300,
      pendingSignupTtlSeconds: 600,
    });
  });

  it('When a client id is set in production, then its secret and redirect URI are required and named', () => {
    const problems = problemsOf(() =>
      loadServerConfig({ ...productionEnv, GOOGLE_CLIENT_ID: 'id', GITHUB_CLIENT_ID: 'id' }),
    );
    expect(problems).toEqual([
      'GOOGLE_CLIENT_SECRET: is required when GOOGLE_CLIENT_ID is set',
      'GOOGLE_REDIRECT_URI: is required when GOOGLE_CLIENT_ID is set',
      'GITHUB_CLIENT_SECRET: is required when GITHUB_CLIENT_ID is set',
      'GITHUB_REDIRECT_URI: is required when GITHUB_CLIENT_ID is set',
    ]);
  });

  it('When GitHub is configured with its credentials only, then the real endpoints are the defaults', () => {
    const config = loadServerConfig({
      ...productionEnv,
      GITHUB_CLIENT_ID: 'Iv1.abc',
      GITHUB_CLIENT_SECRET: 'secret',
      GITHUB_REDIRECT_URI: 'https://app.example.com/oauth/github/callback',
      OAUTH_PENDING_SIGNUP_TTL_MINUTES: '15',
    });
    expect(config.oauth.providers).toEqual({
      github: {
        clientId: 'Iv1.abc',
        clientSecret: 'secret',
        redirectUri: 'https://app.example.com/oauth/github/callback',
        authUrl: 'https://github.com/login/oauth/authorize',
        tokenUrl: 'https://github.com/login/oauth/access_token',
        profileUrl: 'https://api.github.com',
      },
    });
    expect(config.oauth.pendingSignupTtlSeconds).toBe(900);
  });

  it('When an endpoint or the TTL is malformed, then each is named', () => {
    const problems = problemsOf(() =>
      loadServerConfig({ GOOGLE_TOKEN_URL: 'not a url', OAUTH_PENDING_SIGNUP_TTL_MINUTES: '0' }),
    );
    expect(problems.map((problem) => problem.split(':')[0])).toEqual([
      'GOOGLE_TOKEN_URL',
      'OAUTH_PENDING_SIGNUP_TTL_MINUTES',
    ]);
  });

  it('When an enabled provider has a plain-http endpoint in production, then each one is named', () => {
    const problems = problemsOf(() =>
      loadServerConfig({
        ...productionEnv,
        GOOGLE_CLIENT_ID: 'id',
        GOOGLE_CLIENT_SECRET: 'secret',
        GOOGLE_REDIRECT_URI: 'https://app.example.com/oauth/google/callback',
        GOOGLE_TOKEN_URL: 'http://oauth2.example.com/token',
        GITHUB_CLIENT_ID: 'id',
        GITHUB_CLIENT_SECRET: 'secret',
        GITHUB_REDIRECT_URI: 'https://app.example.com/oauth/github/callback',
        GITHUB_AUTH_URL: 'http://github.example.com/login/oauth/authorize',
        GITHUB_API_URL: 'http://api.github.example.com',
      }),
    );
    expect(problems).toEqual([
      'GOOGLE_TOKEN_URL: must be an https URL in production',
      'GITHUB_AUTH_URL: must be an https URL in production',
      'GITHUB_API_URL: must be an https URL in production',
    ]);
  });

  it('When a provider endpoint is plain http outside production, then it is accepted, as tests need', () => {
    const config = loadServerConfig({
      GOOGLE_CLIENT_ID: 'id',
      GOOGLE_CLIENT_SECRET: 'secret',
      GOOGLE_TOKEN_URL: 'http://127.0.0.1:9000/token',
    });
    expect(config.oauth.providers.google?.tokenUrl).toBe('http://127.0.0.1:9000/token');
  });

  it('When the worker is configured, then the avatar hosts of both providers are the allow-list, and the loopback opt-in is refused in production', () => {
    expect(loadWorkerConfig(productionEnv).avatarImport).toEqual({
      hosts: ['*.googleusercontent.com', 'avatars.githubusercontent.com'],
      allowLoopback: false,
    });
    expect(
      problemsOf(() => loadWorkerConfig({ ...productionEnv, OAUTH_AVATAR_ALLOW_LOOPBACK: 'true' })),
    ).toEqual(['OAUTH_AVATAR_ALLOW_LOOPBACK: is for tests and refused in production']);
  });
});
