#!/usr/bin/env bash
# Starts the local service stack on 127.0.0.1 and writes .stack/<profile>/stack.env:
# PostgreSQL primary + streaming read replica, Redis (session, cache), NATS with JetStream,
# s3rver (buckets content, public) and maildev. Then migrates (and, for dev, seeds) the database.
#
# Usage: bash scripts/stack/up.sh [--profile dev|test|reliability] [--no-migrate] [--no-seed]
#   dev (default): .stack/dev, PostgreSQL 25432/25433, Redis 26379/26380, NATS 24222 (monitor
#                  28222), S3 24568, SMTP 21025, maildev UI 21080
#   test:          .stack/test, every port +100, database expresskit_test, never seeded
#   reliability:   .stack/reliability, every port +200, database expresskit_reliability, never
#                  seeded; the reliability suite stops and restarts its services
#   STACK_PORT_OFFSET=N (env) shifts every port by N more, for a second checkout on one machine.
# Idempotent: services already running are left alone, services that died are restarted.
# Stop with scripts/stack/down.sh, inspect with scripts/stack/status.sh.
set -euo pipefail
# shellcheck source=scripts/stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

stack_parse_args "$@"
MIGRATE=yes
SEED=yes
for arg in "${STACK_ARGS[@]}"; do
  case "$arg" in
    --no-migrate) MIGRATE=no ;;
    --no-seed) SEED=no ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; stack_die "unknown option $arg" ;;
  esac
done
[[ $STACK_PROFILE == dev ]] || SEED=no

started_ms=$(date +%s%3N)

# Installation is serialised across profiles: two apt-get or npm ci runs at once would fail.
mkdir -p "$ROOT_DIR/.stack"
exec 8>"$ROOT_DIR/.stack/.install.lock"
flock -w 900 8 || stack_die "another stack script is installing"
ensure_system_packages
ensure_node_modules present
exec 8>&-

PGBIN=$(pg_bin_dir)
NODE_BIN="$ROOT_DIR/node_modules/.bin/node"
if [[ ! -x $NODE_BIN ]]; then
  stack_warn "node_modules/.bin/node (Node 24) missing; using $(command -v node)"
  NODE_BIN=$(command -v node)
fi
for f in s3rver/bin/s3rver.js maildev/dist/bin/maildev.js; do
  [[ -f "$ROOT_DIR/node_modules/$f" ]] || stack_die "node_modules/$f missing; run npm ci"
done

stack_lock
mkdir -p "$RUN_DIR" "$LOG_DIR" "$STACK_DIR"/{redis-session,redis-cache,nats,s3}

# launch <service> "<ports>" <command...>: starts the service unless it is already running.
launch() {
  local name=$1 ports=$2 pid port
  shift 2
  if pid=$(service_pid "$name"); then
    stack_log "$name already running (pid $pid)"
    return 0
  fi
  for port in $ports; do
    if port_in_use "$port"; then
      stack_die "port $port ($name) is taken by another process $(port_owner "$port"); stop it first"
    fi
  done
  stack_log "starting $name on 127.0.0.1:${ports// /, :}"
  start_detached "$name" "$@"
}

# Runs a command synchronously but in its own session with no inherited fds above 2, so the
# daemon it spawns (pg_ctl → postmaster) neither holds our lock nor sees a terminal's Ctrl-C.
run_isolated() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid -w bash -c '
    cd /
    for fd in /proc/$$/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
    done
    exec "$@"' run-isolated "$@" </dev/null 9>&-
}

write_pg_conf() {
  local file=$1 port=$2 role=$3 socket_dir
  socket_dir=$(pg_socket_dir)
  {
    echo "# Written by scripts/stack/up.sh ($role)."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$socket_dir'"
    # A throwaway dev/test cluster: no crash safety needed. synchronous_commit stays on, which
    # keeps the replica 1-3 ms behind instead of ~200 ms.
    echo "fsync = off"
    echo "full_page_writes = off"
    echo "synchronous_commit = on"
    echo "max_connections = 200"
    # No replication slot (a dead replica would pin WAL forever); keep enough WAL instead.
    echo "wal_keep_size = '512MB'"
    echo "hot_standby = on"
    echo "logging_collector = off"
  } >"$file"
  if is_root; then chown postgres:postgres "$file"; fi
}

pg_start() {
  local dir=$1 port=$2 name=$3
  if pg_running "$dir"; then
    stack_log "postgres $name already running"
    return 0
  fi
  if port_in_use "$port"; then
    stack_die "port $port (postgres $name) is taken by another process $(port_owner "$port"); stop it first"
  fi
  stack_log "starting postgres $name on 127.0.0.1:$port"
  local cmd=("$PGBIN/pg_ctl" -D "$dir" -l "$PG_DIR/$name.log" -w -t "$STACK_TIMEOUT" start)
  if is_root; then cmd=(runuser -u postgres -- "${cmd[@]}"); fi
  if ! run_isolated "${cmd[@]}" >>"$LOG_DIR/postgres-setup.log" 2>&1; then
    log_tail "$PG_DIR/$name.log"
    stack_die "postgres $name did not start"
  fi
}

pg_up() {
  pg_prepare_dir # may move PG_DIR
  local primary="$PG_DIR/primary" replica="$PG_DIR/replica" setup_log="$LOG_DIR/postgres-setup.log"
  if [[ ! -f $primary/PG_VERSION ]]; then
    # A new primary has a new system id: any old replica cannot follow it.
    rm -rf "$primary" "$replica"
    stack_log "initialising postgres primary in $primary"
    as_pg "$PGBIN/initdb" -D "$primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >>"$setup_log" 2>&1 || { log_tail "$setup_log"; stack_die "initdb failed"; }
    echo "include 'stack.conf'" | as_pg tee -a "$primary/postgresql.conf" >/dev/null
  fi
  # Written at every start, so a cluster made when the stack had other ports takes today's.
  if ! pg_running "$primary"; then write_pg_conf "$primary/stack.conf" "$PG_PORT" primary; fi
  pg_start "$primary" "$PG_PORT" primary

  # A replica cloned when the primary had another port would follow nothing: cloned again.
  if [[ ! -f $replica/PG_VERSION || ! -f $replica/standby.signal ]] ||
    { ! pg_running "$replica" &&
      ! grep -Eq "port=$PG_PORT([^0-9]|\$)" "$replica/postgresql.auto.conf" 2>/dev/null; }; then
    rm -rf "$replica"
    stack_log "cloning the streaming replica (pg_basebackup -R)"
    as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$replica" -R -X stream -c fast \
      >>"$setup_log" 2>&1 || { log_tail "$setup_log"; stack_die "pg_basebackup failed"; }
    # The clone copied the primary's stack.conf (port included); settings passed with -o would not
    # have been copied at all, which is why they live in a file.
    write_pg_conf "$replica/stack.conf" "$PG_REPLICA_PORT" replica
  fi
  pg_start "$replica" "$PG_REPLICA_PORT" replica

  if [[ -z $(psql_at "$PG_PORT" postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") ]]; then
    stack_log "creating database $DB_NAME"
    psql_at "$PG_PORT" postgres -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
  fi
  # The replica replays the CREATE DATABASE within milliseconds; wait so DATABASE_READ_URL works
  # the moment this script returns.
  local start=$SECONDS
  until psql_at "$PG_REPLICA_PORT" "$DB_NAME" -tAc 'SELECT 1' >/dev/null 2>&1; do
    if ((SECONDS - start >= STACK_TIMEOUT)); then
      log_tail "$PG_DIR/replica.log"
      stack_die "the replica does not have database $DB_NAME after ${STACK_TIMEOUT}s"
    fi
    sleep 0.1
  done
}

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }
nats_ready() { curl -sf "http://127.0.0.1:$NATS_MONITOR_PORT/healthz?js-enabled-only=true"; }
s3_ready() {
  local list
  list=$(curl -sf "http://127.0.0.1:$S3_PORT/") || return 1
  [[ $list == *"<Name>content</Name>"* && $list == *"<Name>public</Name>"* ]]
}
maildev_ready() { port_in_use "$SMTP_PORT" && curl -sf "http://127.0.0.1:$MAIL_WEB_PORT/api/email"; }

# 1. The detached services start in the background while PostgreSQL initialises.
# Sessions survive a restart of their Redis (append-only file); the cache starts empty.
launch redis-session "$REDIS_SESSION_PORT" redis-server --bind 127.0.0.1 --port "$REDIS_SESSION_PORT" \
  --save '' --appendonly yes --appendfsync everysec --dir "$STACK_DIR/redis-session" --daemonize no
launch redis-cache "$REDIS_CACHE_PORT" redis-server --bind 127.0.0.1 --port "$REDIS_CACHE_PORT" \
  --save '' --appendonly no --dir "$STACK_DIR/redis-cache" --daemonize no \
  --maxmemory 256mb --maxmemory-policy allkeys-lru
launch nats "$NATS_PORT $NATS_MONITOR_PORT" nats-server -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" \
  -js -sd "$STACK_DIR/nats"
# s3rver encrypts the continuation token of a truncated listing (more than 1000 keys) with DES,
# which OpenSSL 3 keeps in its legacy provider: without it every such listing is a 500.
launch s3rver "$S3_PORT" "$NODE_BIN" --openssl-legacy-provider "$ROOT_DIR/node_modules/s3rver/bin/s3rver.js" \
  -d "$STACK_DIR/s3" -a 127.0.0.1 -p "$S3_PORT" -s --configure-bucket content --configure-bucket public
launch maildev "$SMTP_PORT $MAIL_WEB_PORT" "$NODE_BIN" "$ROOT_DIR/node_modules/maildev/dist/bin/maildev.js" \
  -s "$SMTP_PORT" --ip 127.0.0.1 -w "$MAIL_WEB_PORT" --web-ip 127.0.0.1

# 2. PostgreSQL (blocking: pg_ctl -w waits until it accepts connections).
pg_up

# 3. Readiness of the rest.
wait_ready redis-session redis_ping "$REDIS_SESSION_PORT"
wait_ready redis-cache redis_ping "$REDIS_CACHE_PORT"
wait_ready nats nats_ready
wait_ready s3rver s3_ready
wait_ready maildev maildev_ready

# 4. The environment for the app, the worker and the tests.
tmp_env="$STACK_ENV_FILE.tmp"
cat >"$tmp_env" <<EOF
NODE_ENV=$APP_NODE_ENV
DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME
DATABASE_READ_URL=postgres://postgres@127.0.0.1:$PG_REPLICA_PORT/$DB_NAME
REDIS_SESSION_URL=redis://127.0.0.1:$REDIS_SESSION_PORT
REDIS_CACHE_URL=redis://127.0.0.1:$REDIS_CACHE_PORT
NATS_URL=nats://127.0.0.1:$NATS_PORT
S3_CONTENT_ENDPOINT=http://127.0.0.1:$S3_PORT
S3_CONTENT_REGION=us-east-1
S3_CONTENT_ACCESS_KEY_ID=S3RVER
S3_CONTENT_SECRET_ACCESS_KEY=S3RVER
S3_CONTENT_BUCKET=content
R2_ENDPOINT=http://127.0.0.1:$S3_PORT
R2_REGION=us-east-1
R2_ACCESS_KEY_ID=S3RVER
R2_SECRET_ACCESS_KEY=S3RVER
R2_BUCKET=public
R2_PUBLIC_DOMAIN=http://127.0.0.1:$S3_PORT/public
SMTP_HOST=127.0.0.1
SMTP_PORT=$SMTP_PORT
MAIL_UI_URL=http://127.0.0.1:$MAIL_WEB_PORT
EOF
mv -f "$tmp_env" "$STACK_ENV_FILE"

ready_ms=$(date +%s%3N)
stack_log "services ready in $(((ready_ms - started_ms) / 1000)).$(printf '%03d' $(((ready_ms - started_ms) % 1000)))s"

# 5. Schema and demo data, with the stack's environment.
npm_script_exists() {
  local v
  v=$(cd "$ROOT_DIR" && npm pkg get "scripts.$1" 2>/dev/null) || return 1
  [[ -n $v && $v != "{}" ]]
}
run_npm_script() {
  local script=$1
  if ! npm_script_exists "$script"; then
    stack_warn "package.json has no $script script yet; skipped"
    return 0
  fi
  stack_log "npm run $script"
  (
    set -a
    # shellcheck source=/dev/null
    . "$STACK_ENV_FILE"
    set +a
    cd "$ROOT_DIR"
    npm run --silent "$script" 9>&-
  ) || stack_die "npm run $script failed"
}
if [[ $MIGRATE == yes ]]; then
  run_npm_script db:migrate
  [[ $SEED == yes ]] && run_npm_script db:seed
fi

# 6. Where everything is.
rel_dir=${STACK_DIR#"$ROOT_DIR"/}
echo
echo "ExpressKit $STACK_PROFILE stack is up ($rel_dir):"
if [[ $STACK_PROFILE == dev ]]; then
  printf '  %-16s %s\n' "API" "http://127.0.0.1:8000  (bash scripts/dev.sh)" \
    "API docs" "http://127.0.0.1:8000/docs"
fi
printf '  %-16s %s\n' \
  "PostgreSQL" "postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME" \
  "  read replica" "postgres://postgres@127.0.0.1:$PG_REPLICA_PORT/$DB_NAME" \
  "Redis session" "redis://127.0.0.1:$REDIS_SESSION_PORT" \
  "Redis cache" "redis://127.0.0.1:$REDIS_CACHE_PORT" \
  "NATS" "nats://127.0.0.1:$NATS_PORT  (monitoring http://127.0.0.1:$NATS_MONITOR_PORT)" \
  "S3 (s3rver)" "http://127.0.0.1:$S3_PORT  buckets content, public  keys S3RVER/S3RVER" \
  "Mail (maildev)" "smtp://127.0.0.1:$SMTP_PORT  UI http://127.0.0.1:$MAIL_WEB_PORT" \
  "Environment" "$rel_dir/stack.env  (set -a; . $rel_dir/stack.env; set +a)" \
  "Logs" "$rel_dir/logs/, $(realpath --relative-to="$ROOT_DIR" "$PG_DIR")/*.log" \
  "Stop" "bash scripts/stack/down.sh --profile $STACK_PROFILE [--purge]"
