import { prepareStack } from './support/stack-profile.ts';

export function setup(): void {
  prepareStack('test');
}
