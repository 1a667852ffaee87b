#!/usr/bin/env bash
# The local stack: Kafka + PostgreSQL on loopback, topics created.
#   ops/stack.sh up     start what is not running (or use PRAKTIJK_KAFKA_BOOTSTRAP /
#                       PRAKTIJK_DATABASE_URL when set), create topics, write .cache/stack.env
#   ops/stack.sh down   stop what the scripts started (by PID)
#   ops/stack.sh down --purge | clean
#                       stop, then delete the stack's data: Kafka's log folder and config, the
#                       PostgreSQL cluster (also one kept in /var/tmp for a clone in a private
#                       folder), keys and stack.env. Downloaded jars and .venv stay.
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

purge() {
  "$ROOT/ops/kafka.sh" stop
  rm -rf "$CACHE/kafka/data" "$CACHE/kafka/server.properties" "$CACHE/kafka/kafka.log"
  "$ROOT/ops/postgres.sh" purge
  rm -rf "$CACHE/keys" "$ENVFILE"
}

case "${1:-}" in
  up) up; cat "$ENVFILE" ;;
  down)
    if [ "${2:-}" = --purge ]; then purge
    elif [ -n "${2:-}" ]; then echo "usage: $0 down [--purge]" >&2; exit 2
    else "$ROOT/ops/kafka.sh" stop; "$ROOT/ops/postgres.sh" stop; fi ;;
  clean) purge ;;
  env) [ -f "$ENVFILE" ] || die "stack not up: run ops/stack.sh up"; cat "$ENVFILE" ;;
  status) "$ROOT/ops/kafka.sh" status || true; "$ROOT/ops/postgres.sh" status || true ;;
  *) echo "usage: $0 up|down [--purge]|clean|env|status" >&2; exit 2 ;;
esac
