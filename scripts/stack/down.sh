#!/usr/bin/env bash
# Stops what scripts/stack/up.sh started for a profile (by pidfile; PostgreSQL with
# pg_ctl -m fast, replica first), and with --purge deletes the profile's data.
#
# Usage: bash scripts/stack/down.sh [--profile dev|test|reliability] [--purge]
set -euo pipefail
# shellcheck source=scripts/stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stack_parse_args "$@"
PURGE=no
for arg in "${STACK_ARGS[@]}"; do
  case "$arg" in
    --purge) PURGE=yes ;;
    -h | --help) sed -n '2,5s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) stack_die "unknown option $arg" ;;
  esac
done

if [[ ! -d $STACK_DIR ]]; then
  stack_log "no $STACK_PROFILE stack at $STACK_DIR"
  exit 0
fi
stack_lock

stop_services "${STACK_SERVICES[@]}"

PGBIN=$(pg_bin_dir || true)
if [[ -n $PGBIN ]]; then
  for name in replica primary; do
    if pg_running "$PG_DIR/$name"; then
      as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/$name" -m fast -w -t 60 stop >/dev/null ||
        stack_die "pg_ctl stop ($name) failed; see $PG_DIR/$name.log"
      stack_log "stopped postgres $name"
    fi
  done
fi

if [[ $PURGE == yes ]]; then
  # pg may be a symlink to /var/tmp when postgres could not reach the checkout (lib.sh).
  if [[ -L "$STACK_DIR/pg" ]]; then rm -rf "$(dirname "$PG_DIR")"; fi
  rm -rf "$STACK_DIR"
  stack_log "removed $STACK_DIR"
fi
stack_log "$STACK_PROFILE stack is down"
