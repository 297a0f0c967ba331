#!/usr/bin/env bash
# The development loop: installs what is missing, starts the dev stack (scripts/stack/up.sh),
# then runs the API server and the worker with reload on change, their output prefixed with
# [server] / [worker]. Ctrl-C stops both; the stack keeps running (stop it with
# `bash scripts/stack/down.sh`).
#
# Usage: bash scripts/dev.sh [up.sh options, e.g. --no-seed]
set -euo pipefail
# shellcheck source=scripts/stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack/lib.sh"
cd "$ROOT_DIR"

ensure_node_modules current
bash scripts/stack/up.sh --profile dev "$@"
stack_set_profile dev

set -a
# shellcheck source=/dev/null
. "$STACK_ENV_FILE"
set +a
# Node 24 from the `node` devDependency (it runs the TypeScript sources by type stripping).
export PATH="$ROOT_DIR/node_modules/.bin:$PATH"

for entry in src/server.ts worker/index.ts; do
  [[ -f $entry ]] || stack_warn "$entry does not exist yet; node --watch will wait for it"
done

# The prefixers ignore SIGINT so the last lines a process prints while shutting down still
# come through; they end when the process closes its output.
prefix() {
  trap '' INT
  exec sed -u "s/^/[$1] /"
}

pids=()
# shellcheck disable=SC2317 # called from the traps
stop_all() {
  trap - INT TERM EXIT
  if ((${#pids[@]} > 0)); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

declare -A names=()
node --watch src/server.ts > >(prefix server) 2>&1 &
pids+=($!)
names[$!]=server
node --watch worker/index.ts > >(prefix worker) 2>&1 &
pids+=($!)
names[$!]=worker
echo "[dev] server pid ${pids[0]}, worker pid ${pids[1]}; Ctrl-C stops both"

# --watch keeps a crashed process waiting for a change, so one of them exiting means something
# is badly wrong (bad flags, killed): stop the other and report.
status=0
exited=""
wait -n -p exited "${pids[@]}" || status=$?
echo "[dev] ${names[$exited]:-a process} exited (status $status); stopping the other" >&2
exit "$status"
