/**
 * The layer rules of DESIGN.md, checked by `npm run check` over src, worker and scripts.
 * test/contract/layer-rules.test.ts proves each rule fails on a violation.
 */

/** Packages that talk to PostgreSQL, Redis, NATS, S3, search or SMTP. */
const DRIVERS = [
  '^node_modules/(@types/)?(knex|pg|ioredis|nats|meilisearch|nodemailer)/',
  '^node_modules/@aws-sdk/',
];

/** Packages that only make sense inside an Express app. */
const EXPRESS_FAMILY =
  '^node_modules/(@types/)?(express|express-serve-static-core|express-session|connect-redis|cookie-parser|cors|helmet|swagger-ui-express|express-openapi-validator)/';

const SESSION_MODULE = '^src/modules/auth/session/';
const SESSION_PORT = '^src/modules/auth/session/session\\.port\\.ts$';

/** The bench's comparison servers: Express apps built from the libraries, to measure against. */
const BENCH_SERVERS = '^scripts/bench/[^/]+-server\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'routes-import-only-services-and-http',
      comment:
        'A handler reads the request, calls its service and answers. It imports services, the ' +
        'src/http helpers, the session port and the generated contract; anything else only as a type.',
      severity: 'error',
      from: { path: '\\.routes\\.ts$' },
      to: {
        dependencyTypesNot: ['type-only'],
        pathNot: ['\\.service\\.ts$', '^src/http/', SESSION_PORT, '^src/generated/'],
      },
    },
    {
      name: 'routes-never-touch-drivers',
      comment:
        'Not even for a type: the database, the clients and what wraps them stay behind the services.',
      severity: 'error',
      from: { path: '\\.routes\\.ts$' },
      to: { path: [...DRIVERS, '^src/shared/(db|clients)/', '\\.repository\\.ts$'] },
    },
    {
      name: 'services-never-touch-http',
      comment: 'Services are HTTP-agnostic so the worker can reuse them.',
      severity: 'error',
      from: { path: '\\.service\\.ts$' },
      to: { path: ['^src/http/', '\\.routes\\.ts$', SESSION_PORT, EXPRESS_FAMILY] },
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
      name: 'http-reaches-modules-through-services-and-session-port',
      comment:
        "Middleware and helpers use a module's service or the session port, never its " +
        'repository, cache or key helpers.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/modules/', pathNot: ['\\.service\\.ts$', SESSION_PORT] },
    },
    {
      name: 'sessions-behind-their-port',
      comment:
        'Outside its module, the session lifecycle is used through session.port.ts; services ' +
        'reach the stored sessions only through the per-user index and revocation.',
      severity: 'error',
      from: { pathNot: SESSION_MODULE },
      to: {
        path: SESSION_MODULE,
        pathNot: 'session\\.(port|index|revocation)\\.ts$',
      },
    },
    {
      name: 'session-libraries-stay-in-the-session-module',
      comment: 'express-session and connect-redis are details of the session module.',
      severity: 'error',
      from: { path: '^src/', pathNot: SESSION_MODULE },
      to: { path: '^node_modules/(@types/)?(express-session|connect-redis)/' },
    },
    {
      name: 'worker-never-reaches-express',
      comment:
        'The worker runs no HTTP pipeline: nothing it loads, directly or through src, may pull ' +
        'in an Express-family package, the app, src/http or a routes file.',
      severity: 'error',
      from: { path: '^worker/' },
      to: {
        path: [EXPRESS_FAMILY, '^src/http/', '\\.routes\\.ts$', '^src/app\\.ts$'],
        reachable: true,
      },
    },
    {
      name: 'bridge-touches-only-outbox-and-nats',
      comment:
        'The bridge writes outbox rows through the executor it is given and relays them to NATS: ' +
        'it uses knex, NATS, metrics and src/shared (no client but NATS), never a module or HTTP.',
      severity: 'error',
      from: { path: '^src/bridge/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: [
          '^src/bridge/',
          '^src/shared/(?!clients/)',
          '^src/shared/clients/nats\\.ts$',
          '^node_modules/(knex|nats|prom-client)/',
        ],
      },
    },
    {
      name: 'scripts-never-build-the-app',
      comment:
        'The bench starts src/server.ts as a process of its own; operator commands go through ' +
        'services, repositories and clients. No script assembles the app from its routes.',
      severity: 'error',
      from: { path: '^scripts/' },
      to: { path: ['\\.routes\\.ts$', '^src/app\\.ts$', '^src/server\\.ts$', SESSION_PORT] },
    },
    {
      name: 'scripts-stay-out-of-http',
      comment:
        "Only the bench's comparison servers build an Express app, borrowing the contract " +
        'loader and validator setup from src/http; every other script works below HTTP.',
      severity: 'error',
      from: { path: '^scripts/', pathNot: BENCH_SERVERS },
      to: { path: ['^src/http/', EXPRESS_FAMILY] },
    },
    {
      name: 'imports-resolve',
      comment: 'An import the cruiser cannot resolve to a file would slip past every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
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
    // Packages' `exports` maps, as Node reads them: without them an ESM-only package such as
    // meilisearch resolves to nothing and no path rule can match it.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js'],
    },
  },
};
