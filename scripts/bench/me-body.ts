/** A body the size and shape of the app's Me, for the yardstick servers to answer with. */
export const meBody = {
  id: '0190a5d2-7c3e-7b1a-9f00-1234567890ab',
  handle: 'bench',
  display_name: 'Bench',
  bio: null,
  profile_image_url: null,
  banner_image_url: null,
  is_verified: true,
  created_at: '2025-01-01T00:00:00.000Z',
  email: 'bench@bench.example',
  totp_enabled: false,
  has_password: true,
};
