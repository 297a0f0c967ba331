import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The reliability stack's services that scripts/stack/service.sh stops and starts. */
export type StackService =
  | 'postgres-primary'
  | 'postgres-replica'
  | 'redis-session'
  | 'redis-cache'
  | 'nats'
  | 's3rver'
  | 'maildev';

async function service(action: 'stop' | 'start', name: StackService): Promise<void> {
  // STACK_PORT_OFFSET and the rest of the environment are inherited, so it is this stack.
  await run('bash', ['scripts/stack/service.sh', '--profile', 'reliability', action, name], {
    env: process.env,
    timeout: 120_000,
  });
}

/** Returns once the service's process is gone. */
export const stopService = (name: StackService) => service('stop', name);

/** Brings the service back (service.sh restarts whatever of the stack is down); returns once it answers. */
export const startService = (name: StackService) => service('start', name);
