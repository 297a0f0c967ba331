#!/usr/bin/env bash
# Prints whether each service of a profile's stack is up. Exits 0 when all are up, 3 otherwise.
#
# Usage: bash scripts/stack/status.sh [--profile dev|test|reliability]
set -euo pipefail
# shellcheck source=scripts/stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stack_parse_args "$@"
for arg in "${STACK_ARGS[@]}"; do
  case "$arg" in
    -h | --help) sed -n '2,4s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) stack_die "unknown option $arg" ;;
  esac
done

all_up=yes
row() { printf '  %-16s %-6s %-7s %s\n' "$@"; }

echo "ExpressKit $STACK_PROFILE stack ($STACK_DIR):"
row SERVICE PORT STATE DETAIL

PGBIN=$(pg_bin_dir || true)
pg_row() {
  local name=$1 port=$2 state=down detail="" pid
  if [[ -n $PGBIN ]] && pg_running "$PG_DIR/$name"; then
    pid=$(head -n 1 "$PG_DIR/$name/postmaster.pid" 2>/dev/null || true)
    if psql_at "$port" postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
      state=up
      detail="pid $pid"
      if [[ $name == replica ]]; then
        [[ $(psql_at "$port" postgres -tAc 'SELECT pg_is_in_recovery()' 2>/dev/null) == t ]] &&
          detail+=", in recovery" || detail+=", NOT in recovery"
      fi
    else
      detail="pid $pid, not accepting connections"
    fi
  fi
  [[ $state == up ]] || all_up=no
  row "postgres-$name" "$port" "$state" "$detail"
}
pg_row primary "$PG_PORT"
pg_row replica "$PG_REPLICA_PORT"

for name in "${STACK_SERVICES[@]}"; do
  port=$(service_port "$name")
  if pid=$(service_pid "$name") && port_in_use "$port"; then
    row "$name" "$port" up "pid $pid"
  else
    all_up=no
    row "$name" "$port" down ""
  fi
done

if [[ $all_up == yes ]]; then
  [[ -f $STACK_ENV_FILE ]] && echo "  env: $STACK_ENV_FILE"
  exit 0
fi
exit 3
