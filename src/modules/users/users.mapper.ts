import type { components } from '../../generated/openapi.ts';
import type { UserRow } from '../../shared/db/rows.ts';

export type PublicUser = components['schemas']['PublicUser'];
export type Me = components['schemas']['Me'];

/** Turns a public-bucket key into its full URL (Storage['public']['publicUrl']). */
export type PublicUrl = (key: string | null) => string | null;

/** Image keys become full public URLs here, so no response ever carries a bare key. */
export function toPublicUser(user: UserRow, publicUrl: PublicUrl): PublicUser {
  return {
    id: user.id,
    handle: user.handle,
    display_name: user.display_name,
    bio: user.bio,
    profile_image_url: publicUrl(user.profile_image),
    banner_image_url: publicUrl(user.banner_image),
    is_verified: user.verified_at !== null,
    created_at: user.created_at.toISOString(),
  };
}

export function toMe(user: UserRow, publicUrl: PublicUrl): Me {
  return {
    ...toPublicUser(user, publicUrl),
    email: user.email,
    totp_enabled: user.totp_enabled_at !== null,
    has_password: user.password !== null,
  };
}
