import express from 'express';

// The yardstick: Express 5 with nothing but the routes the scenarios measure.
const app = express();
app.get('/health-check', (_req, res) => {
  res.status(204).end();
});
// A body the size and shape of the app's Me.
const me = {
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
app.get('/v0/user/me', (_req, res) => {
  res.json(me);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
