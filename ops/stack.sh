#!/usr/bin/env bash
# The local stack: Kafka + PostgreSQL on loopback, topics created.
#   ops/stack.sh up     start what is not running (or use PRAKTIJK_KAFKA_BOOTSTRAP /
#                       PRAKTIJK_DATABASE_URL when set), create topics, write .cache/stack.env
#   ops/stack.sh down   stop what the scripts started (by PID)
#   ops/stack.sh env    print export lines:  eval "$(ops/stack.sh env)"
source "$(dirname "$0")/lib.sh"
ENVFILE="$CACHE/stack.env"

up() {
  mkdir -p "$CACHE"
  ensure_venv
  local bs url
  if [ -n "${PRAKTIJK_KAFKA_BOOTSTRAP:-}" ]; then bs="$PRAKTIJK_KAFKA_BOOTSTRAP"; else bs="$("$ROOT/ops/kafka.sh" start)"; fi
  if [ -n "${PRAKTIJK_DATABASE_URL:-}" ]; then url="$PRAKTIJK_DATABASE_URL"; else url="$("$ROOT/ops/postgres.sh" start)"; fi
  mkdir -p "$CACHE/keys"
  cat >"$ENVFILE" <<ENV
export PRAKTIJK_KAFKA_BOOTSTRAP='$bs'
export PRAKTIJK_DATABASE_URL='$url'
export PRAKTIJK_KEYS_DIR='${PRAKTIJK_KEYS_DIR:-$CACHE/keys}'
ENV
  # shellcheck disable=SC1090
  source "$ENVFILE"
  "$VENV/bin/praktijkregister" topics create >/dev/null || die "creating topics failed on $bs"
}

case "${1:-}" in
  up) up; cat "$ENVFILE" ;;
  down) "$ROOT/ops/kafka.sh" stop; "$ROOT/ops/postgres.sh" stop ;;
  env) [ -f "$ENVFILE" ] || die "stack not up: run ops/stack.sh up"; cat "$ENVFILE" ;;
  status) "$ROOT/ops/kafka.sh" status || true; "$ROOT/ops/postgres.sh" status || true ;;
  *) echo "usage: $0 up|down|env|status" >&2; exit 2 ;;
esac
