/** Who signed in at the provider, reduced to what sign-in and sign-up need. */
export interface ProviderProfile {
  /** The provider's stable account id (never the email or the GitHub login, which can change). */
  providerUserId: string;
  /** Verified by the provider, trimmed and lowercased. */
  email: string;
  /** A display name that meets our rules, or null when the provider gave none usable. */
  displayName: string | null;
  avatarUrl: string | null;
}

const DISPLAY_NAME_MAX = 50;

/**
 * Providers allow names our display names do not (control characters, any length): this
 * makes one fit rather than refusing a sign-up over it.
 */
export function toDisplayName(name: unknown): string | null {
  if (typeof name !== 'string') return null;
  const cleaned = name
    // \p{Cc} is exactly the contract's forbidden range, U+0000–U+001F and U+007F–U+009F.
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const fitted = Array.from(cleaned).slice(0, DISPLAY_NAME_MAX).join('').trim();
  return fitted === '' ? null : fitted;
}

export function toEmail(email: unknown): string | null {
  if (typeof email !== 'string') return null;
  const normalised = email.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+$/.test(normalised) && normalised.length <= 254 ? normalised : null;
}

/** Only web URLs: the avatar is fetched by the worker, which must not be sent anywhere else. */
export function toAvatarUrl(url: unknown): string | null {
  if (typeof url !== 'string' || url.length > 2048) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}
