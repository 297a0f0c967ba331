#!/usr/bin/env bash
# Runs the reliability suite (test/reliability) on its own stack: installs what is missing,
# brings up .stack/reliability (every port +200, database expresskit_reliability), then vitest
# with vitest.reliability.config.ts. The table of what ran and what was lost is printed at the
# end and written to .stack/reliability/report.md (docs/reliability.md quotes it).
#
# Usage: bash scripts/test-reliability.sh [--down] [--soak] [vitest args...]
#   --down   stop the reliability stack afterwards
#   --soak   the opt-in long mode: RELIABILITY_SOAK_SECS (default 120) of mixed load, and a
#            random fuzzer seed (replay one with RELIABILITY_SEED=<seed>)
set -euo pipefail
# shellcheck source=scripts/stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack/lib.sh"
cd "$ROOT_DIR"

DOWN=no
args=()
for arg in "$@"; do
  case "$arg" in
    --down) DOWN=yes ;;
    --soak) export RELIABILITY_MODE=soak ;;
    *) args+=("$arg") ;;
  esac
done
if [[ ${args[0]:-} == -- ]]; then args=("${args[@]:1}"); fi

if [[ $DOWN == yes ]]; then
  trap 'bash scripts/stack/down.sh --profile reliability' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
fi

ensure_node_modules current </dev/null
bash scripts/stack/up.sh --profile reliability --no-seed </dev/null
stack_set_profile reliability

set -a
# shellcheck source=/dev/null
. "$STACK_ENV_FILE"
set +a
npx vitest run --config vitest.reliability.config.ts "${args[@]}"
