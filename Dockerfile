# syntax=docker/dockerfile:1
# ExpressKit image: Node 24 runs the TypeScript sources directly (type stripping), so there is
# no build step. One image, two roles:
#   API:    npm start's command (the default CMD)
#   worker: node worker/index.ts
#   schema: npm run db:migrate
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Every dependency, for tooling run in a container (`docker build --target deps`: check, tests).
FROM base AS deps
COPY package.json package-lock.json ./
# The client package is an npm workspace; its manifest brings its dependencies into the install.
COPY client/package.json client/
RUN --mount=type=cache,target=/root/.npm npm ci

# Runtime dependencies only. This also leaves out the `node` devDependency (the Node 24 that
# npm scripts use on machines without it): the image's own Node 24 runs everything here.
FROM base AS prod-deps
# Without client/package.json npm skips the client workspace: the server does not run it.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

FROM base AS runtime
# MALLOC_MMAP_THRESHOLD_ and UV_THREADPOOL_SIZE as `npm start` sets them: see
# docs/performance.md (memory) and src/shared/threadpool-budget.ts (argon2 and sharp threads).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    UV_THREADPOOL_SIZE=6
COPY --from=prod-deps /app/node_modules ./node_modules
# Sources stay owned by root: the app user can read them, not change them.
COPY . .
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health-check').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The heap and GC flags of `npm start` (package.json), which docs/performance.md explains.
CMD ["node", "--max-old-space-size=512", "--max-semi-space-size=16", "--no-allocation-site-pretenuring", "src/server.ts"]
