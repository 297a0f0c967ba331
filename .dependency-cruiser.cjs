/** The layer rules of DESIGN.md, checked by `npm run check`. */
module.exports = {
  forbidden: [
    {
      name: 'routes-only-call-services',
      comment: 'Handlers call their service; SQL, knex and clients stay behind it.',
      severity: 'error',
      from: { path: '\\.routes\\.ts$' },
      to: {
        path: [
          '\\.repository\\.ts$',
          '^src/shared/db/',
          '^src/shared/clients/',
          '^node_modules/(knex|pg|ioredis|nats)/',
        ],
      },
    },
    {
      name: 'services-never-touch-http',
      comment: 'Services are HTTP-agnostic so the worker can reuse them.',
      severity: 'error',
      from: { path: '\\.service\\.ts$' },
      to: { path: ['^src/http/', '\\.routes\\.ts$', '^node_modules/express/'] },
    },
    {
      name: 'repositories-are-leaves',
      comment:
        'Repositories take an executor and return rows; they call no service, route or client.',
      severity: 'error',
      from: { path: '\\.repository\\.ts$' },
      to: {
        path: [
          '\\.service\\.ts$',
          '\\.routes\\.ts$',
          '^src/http/',
          '^src/shared/clients/',
          '^src/bridge/',
        ],
      },
    },
    {
      name: 'shared-is-standalone',
      comment: 'src/shared is imported by server and worker; it must not reach into either.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: {
        path: ['^src/(http|modules|bridge)/', '^src/app\\.ts$', '^src/server\\.ts$', '^worker/'],
      },
    },
    {
      name: 'worker-never-uses-express',
      severity: 'error',
      from: { path: '^worker/' },
      to: { path: ['^src/http/', '\\.routes\\.ts$', '^node_modules/express/', '^src/app\\.ts$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
