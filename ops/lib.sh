# shellcheck shell=bash
# Shared helpers for the ops/ scripts. Sourced, never run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${PRAKTIJK_CACHE_DIR:-$ROOT/.cache}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

die() {  # one-line cause (+ log path) on stderr, then exit
  echo "praktijkregister: $*" >&2
  exit 1
}
say() { echo "== $*" >&2; }

need() {  # need CMD "what it is for"
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH ($2)"
}

ensure_venv() {
  # Re-install only when pyproject.toml changed since the last install.
  local stamp="$VENV/.installed"
  if [ ! -x "$PY" ]; then
    need python3 "Python 3.11 is required"
    python3 -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "installing Python packages into .venv"
    "$PY" -m pip install -q --upgrade pip >/dev/null
    # bench: the peer library of ops/bench (its pure parts are unit-tested); neither is a product dependency
    "$PY" -m pip install -q -e "$ROOT[dev,bench]" || die "pip install -e '.[dev,bench]' failed"
    touch "$stamp"
  fi
}

ensure_debs() {  # ensure_debs PKG...: install missing Debian packages (as root; once per machine)
  local missing=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages ${missing[*]} and not root: install them first"
  mkdir -p "$CACHE"
  say "installing ${missing[*]} from Debian's packages"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    >"$CACHE/apt-${missing[0]}.log" 2>&1 || die "apt-get install ${missing[*]} failed, see $CACHE/apt-${missing[0]}.log"
}

ensure_wrk() {  # wrk (Debian), the API benchmark's load generator: installed when missing and root; else a note
  command -v wrk >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { say "wrk not installed (and not root): API latency skipped"; return 0; }
  mkdir -p "$CACHE"  # a fresh clone has no cache folder yet, and the apt log goes there
  say "installing wrk from Debian's packages"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; } \
    >"$CACHE/apt-wrk.log" 2>&1 || { say "apt-get install wrk failed (see $CACHE/apt-wrk.log): API latency skipped"; return 0; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

port_taken() {  # exit 0 when something listens on 127.0.0.1:$1
  python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(0 if s.connect_ex(("127.0.0.1",int(sys.argv[1])))==0 else 1)' "$1"
}

pid_alive() {  # pid_alive PIDFILE: exit 0 when the PID in the file runs
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pid() {  # stop_pid PIDFILE NAME: TERM, wait, KILL; only that PID
  local pidfile="$1" name="$2" pid
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"; echo "$name: not running"; return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "$name: stopped (pid $pid)"; return 0; }
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "$name: killed after 30 s (pid $pid)"
}

write_kafka_log4j() {  # write_kafka_log4j FILE: a broker logs warnings, and its own start and stop
  cat >"$1" <<'L4J'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka.server.KafkaServer
logger.kafka.level = INFO
L4J
}
