export const actionLogActions = [
  'user:create',
  'user:edit',
  'post:create',
  'post:edit',
  'post:delete',
  'auth:login',
  'auth:logout',
  'oauth:link',
  'oauth:unlink',
] as const;

export type ActionLogAction = (typeof actionLogActions)[number];

export const resourceTypes = ['user', 'post'] as const;
export type ResourceType = (typeof resourceTypes)[number];
