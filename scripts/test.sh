#!/usr/bin/env bash
# Runs the test suite against the test stack: installs what is missing (chromium included, for
# the Swagger UI browser test), brings up .stack/test (every port +100, database
# expresskit_test, migrated, never seeded), then `npm test -- <args>` with .stack/test/stack.env
# loaded.
#
# Usage: bash scripts/test.sh [--down] [-- ] [vitest args...]
#   --down   stop the test stack afterwards. Without it the stack stays up, so the next run
#            starts in well under a second; stop it with `bash scripts/stack/down.sh --profile test`.
#   e.g.     bash scripts/test.sh test/users        bash scripts/test.sh -t 'When the token'
# Works unattended (CI=true, as root, no stdin); the exit status is the test run's.
set -euo pipefail
# shellcheck source=scripts/stack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack/lib.sh"
cd "$ROOT_DIR"

DOWN=no
args=()
for arg in "$@"; do
  case "$arg" in
    --down) DOWN=yes ;;
    *) args+=("$arg") ;;
  esac
done
# A leading `--` only separates our options from vitest's.
if [[ ${args[0]:-} == -- ]]; then args=("${args[@]:1}"); fi

if [[ $DOWN == yes ]]; then
  trap 'bash scripts/stack/down.sh --profile test' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
fi

ensure_node_modules current </dev/null
ensure_test_browser </dev/null
bash scripts/stack/up.sh --profile test --no-seed </dev/null
stack_set_profile test

set -a
# shellcheck source=/dev/null
. "$STACK_ENV_FILE"
set +a
npm test -- "${args[@]}"
