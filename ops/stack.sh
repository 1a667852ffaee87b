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
# PRAKTIJK_KAFKA_BROKERS=3 (any N > 1): a cluster of N KRaft nodes with TLS instead of the single broker
# (ops/kafka_cluster.sh; topics get min(3, N) replicas). The single node stays the default of the demo and the tests.
source "$(dirname "$0")/lib.sh"
ENVFILE="$CACHE/stack.env"
BROKERS="${PRAKTIJK_KAFKA_BROKERS:-1}"
if [ "$BROKERS" -gt 1 ] 2>/dev/null; then KAFKA="$ROOT/ops/kafka_cluster.sh"
elif [ "$BROKERS" = 1 ]; then KAFKA="$ROOT/ops/kafka.sh"
else die "PRAKTIJK_KAFKA_BROKERS must be a number of brokers (1, 3, ...), not '$BROKERS'"; fi

up() {
  mkdir -p "$CACHE"
  ensure_venv
  local bs url
  local kafka_env
  if [ -n "${PRAKTIJK_KAFKA_BOOTSTRAP:-}" ]; then
    # an outside broker: pass on how to log in to it (PRAKTIJK_KAFKA_SECURITY/USERNAME/PASSWORD as set)
    bs="$PRAKTIJK_KAFKA_BOOTSTRAP"
    kafka_env="export PRAKTIJK_KAFKA_BOOTSTRAP='$bs'"
    for v in SECURITY USERNAME PASSWORD CA_FILE; do
      local n="PRAKTIJK_KAFKA_$v"
      if [ -n "${!n:-}" ]; then kafka_env+=$'\n'"export $n='${!n}'"; fi
    done
  else
    "$KAFKA" start >/dev/null
    kafka_env="$("$KAFKA" env)"  # bootstrap, security and the admin login (secured broker)
  fi
  if [ -n "${PRAKTIJK_DATABASE_URL:-}" ]; then url="$PRAKTIJK_DATABASE_URL"; else url="$("$ROOT/ops/postgres.sh" start)"; fi
  (umask 077; mkdir -p "$CACHE/keys"); chmod 700 "$CACHE/keys"  # key folder: the owner's only
  (umask 077; echo "$kafka_env" >"$ENVFILE")  # 0600: it holds the Kafka admin's password
  cat >>"$ENVFILE" <<ENV
export PRAKTIJK_DATABASE_URL='$url'
export PRAKTIJK_KEYS_DIR='${PRAKTIJK_KEYS_DIR:-$CACHE/keys}'
ENV
  # shellcheck disable=SC1090
  source "$ENVFILE"
  "$VENV/bin/praktijkregister" topics create >/dev/null || die "creating topics failed on $bs"
  # the stack's key folder holds every key a component needs (missing ones created, none replaced)
  "$VENV/bin/praktijkregister" keys init >/dev/null || die "creating the keys in $PRAKTIJK_KEYS_DIR failed"
  # one least-privilege PostgreSQL login per component (PRAKTIJK_DATABASE_URL_<COMPONENT>); passwords 0600 in pg/roles
  local roles
  if roles="$("$VENV/bin/praktijkregister" db roles --secrets "$CACHE/pg/roles")"; then echo "$roles" >>"$ENVFILE"
  elif [ "$url" = "$("$ROOT/ops/postgres.sh" url 2>/dev/null)" ]; then die "creating the database roles failed on the local PostgreSQL"
  else say "no roles on $(echo "$url" | sed -E 's/:[^:@/]+@/:***@/') (see above): every component uses PRAKTIJK_DATABASE_URL"; fi
}

purge() {
  "$KAFKA" stop
  [ "$KAFKA" = "$ROOT/ops/kafka.sh" ] || "$KAFKA" purge
  rm -rf "$CACHE/kafka/data" "$CACHE/kafka/server.properties" "$CACHE/kafka/kafka.log" "$CACHE/kafka/admin.password"
  "$ROOT/ops/postgres.sh" purge
  rm -rf "$CACHE/keys" "$ENVFILE"
}

case "${1:-}" in
  up) up; cat "$ENVFILE" ;;
  down)
    if [ "${2:-}" = --purge ]; then purge
    elif [ -n "${2:-}" ]; then echo "usage: $0 down [--purge]" >&2; exit 2
    else "$KAFKA" stop; "$ROOT/ops/postgres.sh" stop; fi ;;
  clean) purge ;;
  env) [ -f "$ENVFILE" ] || die "stack not up: run ops/stack.sh up"; cat "$ENVFILE" ;;
  status) "$KAFKA" status || true; "$ROOT/ops/postgres.sh" status || true ;;
  *) echo "usage: $0 up|down [--purge]|clean|env|status" >&2; exit 2 ;;
esac
