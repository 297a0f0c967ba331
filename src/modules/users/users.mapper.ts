import type { components } from '../../generated/openapi.ts';
import type { UserRow } from '../../shared/db/rows.ts';
import type { UserSnapshot } from './user-snapshot.ts';

export type PublicUser = components['schemas']['PublicUser'];
export type Me = components['schemas']['Me'];

/** Turns a public-bucket key into its full URL (Storage['public']['publicUrl']). */
export type PublicUrl = (key: string | null) => string | null;

type PublicUserFields = Pick<
  UserRow,
  | 'id'
  | 'handle'
  | 'display_name'
  | 'bio'
  | 'profile_image'
  | 'banner_image'
  | 'verified_at'
  | 'created_at'
>;

/** Image keys become full public URLs here, so no response ever carries a bare key. */
export function toPublicUser(user: PublicUserFields, publicUrl: PublicUrl): PublicUser {
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

export function toMe(user: UserSnapshot, publicUrl: PublicUrl): Me {
  return {
    ...toPublicUser(user, publicUrl),
    email: user.email,
    totp_enabled: user.totp_enabled,
    has_password: user.has_password,
  };
}
