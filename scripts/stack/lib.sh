# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153 # variables are set here for the scripts that source this file
# Shared by scripts/stack/{up,down,status}.sh, scripts/dev.sh and scripts/test.sh. Sourced, never run.
#
# Layout of a stack dir (.stack/<profile>):
#   run/<service>.pid   pid of each detached service (PostgreSQL keeps its own postmaster.pid)
#   logs/<service>.log  stdout+stderr of each detached service
#   pg/                 PostgreSQL primary + replica data dirs and logs, owned by the postgres user
#   nats/ s3/ redis-*/  service data
#   stack.env           the environment the app, the worker and the tests load

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_TIMEOUT=${STACK_TIMEOUT:-60}
# Detached services; PostgreSQL is handled separately through pg_ctl.
STACK_SERVICES=(redis-session redis-cache nats s3rver maildev)

stack_log() { printf '[stack] %s\n' "$*"; }
stack_warn() { printf '[stack] warning: %s\n' "$*" >&2; }
stack_die() {
  printf '[stack] error: %s\n' "$*" >&2
  exit 1
}

# Sets every profile-dependent variable. dev is the default; test shifts each port by +100 and
# reliability by +200, so all three stacks can run side by side: the reliability suite stops and
# restarts its services, which must never pull one from under the main suite.
stack_set_profile() {
  STACK_PROFILE=${1:-dev}
  local offset
  case "$STACK_PROFILE" in
    dev) offset=0 DB_NAME=expresskit APP_NODE_ENV=development ;;
    test) offset=100 DB_NAME=expresskit_test APP_NODE_ENV=test ;;
    reliability) offset=200 DB_NAME=expresskit_reliability APP_NODE_ENV=test ;;
    *) stack_die "unknown profile '$STACK_PROFILE' (expected dev, test or reliability)" ;;
  esac
  # A second checkout on the same machine can shift its whole stack, e.g. STACK_PORT_OFFSET=1000.
  [[ ${STACK_PORT_OFFSET:-0} =~ ^[0-9]+$ ]] || stack_die "STACK_PORT_OFFSET must be a number"
  offset=$((offset + ${STACK_PORT_OFFSET:-0}))
  STACK_DIR="$ROOT_DIR/.stack/$STACK_PROFILE"
  RUN_DIR="$STACK_DIR/run"
  LOG_DIR="$STACK_DIR/logs"
  STACK_ENV_FILE="$STACK_DIR/stack.env"
  # Below Linux's ephemeral range (32768 up by default), where an outgoing connection could hold
  # one of them just as a service starts.
  PG_PORT=$((25432 + offset))
  PG_REPLICA_PORT=$((25433 + offset))
  REDIS_SESSION_PORT=$((26379 + offset))
  REDIS_CACHE_PORT=$((26380 + offset))
  NATS_PORT=$((24222 + offset))
  NATS_MONITOR_PORT=$((28222 + offset))
  S3_PORT=$((24568 + offset))
  SMTP_PORT=$((21025 + offset))
  MAIL_WEB_PORT=$((21080 + offset))
  stack_check_ports
  # PostgreSQL's data dir: normally $STACK_DIR/pg; a symlink when the checkout is somewhere the
  # postgres user cannot reach (see pg_prepare_dir).
  if [[ -L "$STACK_DIR/pg" ]]; then
    PG_DIR=$(readlink -f "$STACK_DIR/pg")
  else
    PG_DIR="$STACK_DIR/pg"
  fi
}

# Parses the options common to the stack scripts; leaves the rest in STACK_ARGS.
stack_parse_args() {
  local profile=dev
  STACK_ARGS=()
  while (($# > 0)); do
    case "$1" in
      --profile) [[ $# -ge 2 ]] || stack_die "--profile needs a value"; profile=$2; shift 2 ;;
      --profile=*) profile=${1#--profile=}; shift ;;
      *) STACK_ARGS+=("$1"); shift ;;
    esac
  done
  stack_set_profile "$profile"
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------------------------------------
# Installation

# ensure_node_modules current|present: runs npm ci when node_modules is missing or (current)
# older than package-lock.json.
ensure_node_modules() {
  local need=no
  if [[ ! -d "$ROOT_DIR/node_modules" ]]; then
    need=yes
  elif [[ $1 == current && "$ROOT_DIR/package-lock.json" -nt "$ROOT_DIR/node_modules/.package-lock.json" ]]; then
    need=yes
  fi
  if [[ $need == yes ]]; then
    stack_log "installing npm dependencies (npm ci)"
    # --include=dev: a NODE_ENV=production inherited from the shell would otherwise drop the
    # devDependencies the stack and the tests run on (s3rver, maildev, vitest, Node 24 itself).
    (cd "$ROOT_DIR" && npm ci --include=dev --no-audit --no-fund) || stack_die "npm ci failed"
  fi
}

pg_bin_dir() {
  if [[ -n ${PG_BIN:-} ]]; then
    printf '%s\n' "$PG_BIN"
    return
  fi
  local d
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d && -x $d/pg_ctl ]] && printf '%s\n' "$d"
}

# redis-server, nats-server, PostgreSQL and curl from Debian when missing (root only; apt does
# not start anything here because of policy-rc.d, which is what we want).
ensure_system_packages() {
  local pkgs=()
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || pkgs+=(redis-server redis-tools)
  command -v nats-server >/dev/null || pkgs+=(nats-server)
  command -v curl >/dev/null || pkgs+=(curl)
  [[ -n $(pg_bin_dir) ]] || pkgs+=(postgresql)
  ((${#pkgs[@]} == 0)) && return 0
  if ! is_root || ! command -v apt-get >/dev/null; then
    stack_die "missing: ${pkgs[*]}; install them (Debian: apt-get install -y ${pkgs[*]})"
  fi
  stack_log "installing ${pkgs[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || stack_die "apt-get update failed"
  apt-get install -y -qq "${pkgs[@]}" >/dev/null || stack_die "apt-get install ${pkgs[*]} failed"
  [[ -n $(pg_bin_dir) ]] || stack_die "PostgreSQL binaries not found under /usr/lib/postgresql"
}

# Debian's chromium for the tests that drive Swagger UI in a browser (playwright-core launches
# /usr/bin/chromium; it downloads no browser of its own).
ensure_test_browser() {
  [[ -x /usr/bin/chromium ]] && return 0
  if ! is_root || ! command -v apt-get >/dev/null; then
    stack_die "missing: chromium; install it (Debian: apt-get install -y chromium)"
  fi
  stack_log "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || stack_die "apt-get update failed"
  apt-get install -y -qq chromium >/dev/null || stack_die "apt-get install chromium failed"
}

# An exclusive lock per stack dir so two concurrent up/down runs do not race. fd 9 is closed
# in every service we start (start_detached), so the daemons never inherit the lock.
stack_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 300 9 || stack_die "another stack script holds $STACK_DIR/.lock"
}

# ---------------------------------------------------------------------------------------------
# Processes

pidfile_of() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }
logfile_of() { printf '%s/%s.log\n' "$LOG_DIR" "$1"; }

# The port a service is known by; its command line contains it, which guards against a
# recycled pid (redis rewrites its title to "redis-server 127.0.0.1:<port>").
service_port() {
  case "$1" in
    redis-session) echo "$REDIS_SESSION_PORT" ;;
    redis-cache) echo "$REDIS_CACHE_PORT" ;;
    nats) echo "$NATS_PORT" ;;
    s3rver) echo "$S3_PORT" ;;
    maildev) echo "$SMTP_PORT" ;;
    *) stack_die "unknown service $1" ;;
  esac
}

# Prints the pid when the service's pidfile names a live process that is that service.
service_pid() {
  local pidfile pid cmdline
  pidfile=$(pidfile_of "$1")
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_running "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$(service_port "$1")"* ]] || return 1
  printf '%s\n' "$pid"
}

# Refuses ports inside the machine's ephemeral range (a large STACK_PORT_OFFSET can reach it).
stack_check_ports() {
  local range low port
  range=$(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || return 0
  low=${range%%[[:space:]]*}
  for port in "$PG_PORT" "$PG_REPLICA_PORT" "$REDIS_SESSION_PORT" "$REDIS_CACHE_PORT" "$NATS_PORT" \
    "$NATS_MONITOR_PORT" "$S3_PORT" "$SMTP_PORT" "$MAIL_WEB_PORT"; do
    if ((port >= low)); then
      stack_die "port $port is in the ephemeral range ($low and up), where outgoing connections take theirs; choose a smaller STACK_PORT_OFFSET"
    fi
  done
}

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_owner() {
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*))' | head -n 1
}

# Starts "$@" in its own session (so Ctrl-C in the terminal that ran up.sh or dev.sh does not
# reach it), with stdin from /dev/null, output appended to its log, every inherited fd above 2
# closed (a CI pipe or our lock must not be held open by a daemon), and its own pid written to
# the pidfile (setsid may fork, so $! is not reliable).
start_detached() {
  local name=$1 pidfile log
  shift
  pidfile=$(pidfile_of "$name")
  log=$(logfile_of "$name")
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  rm -f "$pidfile"
  printf '\n=== %s start %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c '
    pidfile=$1; shift
    for fd in /proc/$$/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
    done
    echo $$ >"$pidfile"
    exec "$@"' start-detached "$pidfile" "$@" </dev/null >>"$log" 2>&1 9>&- &
}

log_tail() {
  local f=$1
  [[ -f $f ]] || return 0
  printf '[stack] ---- last lines of %s ----\n' "$f" >&2
  tail -n 40 "$f" >&2
  printf '[stack] ----\n' >&2
}

# wait_ready <service> <command...>: polls the command until it succeeds, for STACK_TIMEOUT
# seconds; fails early when the process has died. Either way, shows the log tail.
wait_ready() {
  local name=$1 start=$SECONDS
  shift
  while ((SECONDS - start < STACK_TIMEOUT)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -s $(pidfile_of "$name") ]]; then
      if ! service_pid "$name" >/dev/null; then
        log_tail "$(logfile_of "$name")"
        stack_die "$name exited during start-up"
      fi
    elif ((SECONDS - start >= 5)); then
      log_tail "$(logfile_of "$name")"
      stack_die "$name did not start (no pidfile)"
    fi
    sleep 0.1
  done
  log_tail "$(logfile_of "$name")"
  stack_die "$name not ready after ${STACK_TIMEOUT}s"
}

# A live process; an exited one that its parent has not reaped yet (a zombie: kill -0 still
# succeeds on it, and a container's pid 1 can take seconds to reap) counts as gone.
pid_running() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Stops detached services by their pidfiles: SIGTERM to all, up to 10 s, then SIGKILL.
stop_services() {
  local name pid i
  local -A running=()
  for name in "$@"; do
    if pid=$(service_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      running[$name]=$pid
    fi
  done
  for ((i = 0; i < 100; i++)); do
    for name in "${!running[@]}"; do
      if ! pid_running "${running[$name]}"; then
        stack_log "stopped $name (pid ${running[$name]})"
        unset "running[$name]"
      fi
    done
    ((${#running[@]} == 0)) && break
    sleep 0.1
  done
  for name in "${!running[@]}"; do
    stack_warn "$name (pid ${running[$name]}) ignored SIGTERM for 10 s; killing it"
    kill -KILL "${running[$name]}" 2>/dev/null || true
  done
  for name in "$@"; do rm -f "$(pidfile_of "$name")"; done
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL (refuses to run as root: runs as the postgres user, in a dir it owns)

as_pg() {
  if is_root; then
    # From / : the caller's directory may be one postgres cannot enter (a checkout in /root).
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_running() { [[ -d $1 ]] && as_pg "$PGBIN/pg_ctl" status -D "$1" >/dev/null 2>&1; }

psql_at() {
  local port=$1 db=$2
  shift 2
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}

# The postgres user must be able to reach its data dir. A checkout under /root (mode 700) is
# not reachable, so the data then lives in /var/tmp and $STACK_DIR/pg is a symlink to it.
pg_prepare_dir() {
  if is_root && [[ ! -e "$STACK_DIR/pg" ]] && ! runuser -u postgres -- test -x "$STACK_DIR"; then
    local alt
    alt="/var/tmp/expresskit-stack-$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)"
    install -d -m 755 "$alt"
    ln -sfn "$alt/pg" "$STACK_DIR/pg"
    PG_DIR="$alt/pg"
    stack_warn "postgres cannot reach $STACK_DIR; PostgreSQL data lives in $PG_DIR"
  fi
  if is_root; then
    install -d -o postgres -g postgres -m 700 "$PG_DIR"
  else
    install -d -m 700 "$PG_DIR"
  fi
}

pg_socket_dir() {
  # Unix socket paths are limited to 107 bytes; TCP is what everything here uses anyway.
  if ((${#PG_DIR} + 16 < 107)); then printf '%s' "$PG_DIR"; fi
}
