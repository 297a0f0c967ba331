/** One documented password for every dev account; the seed refuses to run in production. */
export const DEV_PASSWORD = 'expresskit-dev-password';

export interface DevUser {
  handle: string;
  display_name: string;
  email: string;
  bio: string;
}

export const devUsers: DevUser[] = [
  {
    handle: 'alice',
    display_name: 'Alice Martin',
    email: 'alice@example.com',
    bio: 'Backend engineer. Writes about PostgreSQL, queues and boring reliable systems.',
  },
  {
    handle: 'bob',
    display_name: 'Bob Nakamura',
    email: 'bob@example.com',
    bio: 'Frontend by day, home-lab tinkerer by night.',
  },
  {
    handle: 'carol',
    display_name: 'Carol Okafor',
    email: 'carol@example.com',
    bio: 'Security reviewer. Asks about your session lifetime.',
  },
];
