#!/usr/bin/env bash
# Stops or starts one service of a profile's stack, for the reliability suite's fault injection
# (and for trying by hand what the kit does when a dependency goes away).
#
# Usage: bash scripts/stack/service.sh [--profile dev|test|reliability] stop|start <service>
#   services: postgres-primary postgres-replica redis-session redis-cache nats s3rver maildev
#   stop   SIGTERM (PostgreSQL: pg_ctl -m fast), waiting until the process is gone
#   start  brings back whatever of the stack is down (up.sh --no-migrate, which is idempotent)
set -euo pipefail
# shellcheck source=scripts/stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

stack_parse_args "$@"
((${#STACK_ARGS[@]} == 2)) || { usage >&2; exit 2; }
action=${STACK_ARGS[0]} service=${STACK_ARGS[1]}

case "$action" in
  start) exec bash "$ROOT_DIR/scripts/stack/up.sh" --profile "$STACK_PROFILE" --no-migrate ;;
  stop) ;;
  *) usage >&2; exit 2 ;;
esac

stack_lock
case "$service" in
  postgres-primary | postgres-replica)
    PGBIN=$(pg_bin_dir) || stack_die "PostgreSQL binaries not found"
    dir="$PG_DIR/${service#postgres-}"
    if pg_running "$dir"; then
      as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null ||
        stack_die "pg_ctl stop ($service) failed; see $PG_DIR/${service#postgres-}.log"
    fi
    stack_log "stopped $service"
    ;;
  *)
    service_port "$service" >/dev/null
    stop_services "$service"
    ;;
esac
