#!/usr/bin/env bash
# A private PostgreSQL cluster on 127.0.0.1 in .cache/pg (no system service).
#   ops/postgres.sh start | stop [fast|immediate|smart] | purge | status | url
source "$(dirname "$0")/lib.sh"
PGDIR="$CACHE/pg"        # always: the port, the logs and the record of where the data lives
PORTFILE="$PGDIR/port"   # the port is kept here whatever folder the clone is in
DATAREC="$PGDIR/datadir" # the data folder, when it is not $PGDIR/data (see data_dir)
PWFILE="$PGDIR/password" # the superuser's password (mode 0600): scram-sha-256 authentication, never trust
DB="${PRAKTIJK_DB_NAME:-praktijkregister}"

# As root the server runs as 'postgres', which must be able to reach its data folder. A
# clone inside a private folder (mode 700, e.g. mktemp -d or /root) is out of its reach;
# then the data lives in a fresh /var/tmp/praktijkregister-pg.XXXXXX folder, recorded in
# $DATAREC so that start, stop and `ops/stack.sh down --purge` find exactly this one.
reachable() { [ "$(id -u)" != 0 ] || ! id postgres >/dev/null 2>&1 || runuser -u postgres -- test -x "$PGDIR" 2>/dev/null; }
data_dir() {  # print the data folder; with "create", choose (and record) it when unset
  if [ -f "$DATAREC" ]; then cat "$DATAREC"; return 0; fi
  if reachable; then echo "$PGDIR/data"; return 0; fi
  [ "${1:-}" = create ] || { echo "$PGDIR/data"; return 0; }
  local d; d="$(mktemp -d /var/tmp/praktijkregister-pg.XXXXXX)" || die "cannot create a data folder in /var/tmp"
  chmod 755 "$d"; echo "$d/data" >"$DATAREC"; echo "$d/data"
}
DATA="$(data_dir)"
LOG="$PGDIR/postgres.log"
DB="${PRAKTIJK_DB_NAME:-praktijkregister}"

find_bin() {
  local d
  command -v initdb >/dev/null 2>&1 && { dirname "$(readlink -f "$(command -v initdb)")"; return 0; }
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
  return 1
}

install_pg() {
  [ "$(id -u)" = 0 ] || die "initdb not found and not root: install PostgreSQL (Debian package 'postgresql')"
  say "installing PostgreSQL from Debian's packages"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } >"$CACHE/apt-postgres.log" 2>&1 \
    || die "apt-get install postgresql failed, see $CACHE/apt-postgres.log"
}

# initdb/postgres refuse to run as root: run them as the 'postgres' user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    (cd / && runuser -u postgres -- "$@")  # cwd may be unreachable for postgres
  else
    "$@"
  fi
}

url() {  # the superuser's URL (a cluster made before passwords, still on trust, has none)
  local who=postgres; [ -f "$PWFILE" ] && who="postgres:$(cat "$PWFILE")"
  echo "postgresql+psycopg://$who@127.0.0.1:$(cat "$PORTFILE")/$DB"
}

new_password() {  # generate $PWFILE (0600) once
  [ -s "$PWFILE" ] && return 0
  (umask 077; python3 -c 'import secrets; print(secrets.token_hex(24))' >"$PWFILE")
}

# A cluster initialised before passwords (trust): give the superuser its password, then switch
# pg_hba.conf to scram-sha-256 and reload. Runs only from start, on a server this script just started.
require_passwords() {  # bin port
  local bin="$1" port="$2"
  grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$DATA/pg_hba.conf" 2>/dev/null || return 0
  new_password
  echo "ALTER ROLE postgres PASSWORD '$(cat "$PWFILE")'" |  # on stdin: never on a command line
    "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null \
    || die "setting the superuser password failed, see $LOG"
  as_owner sed -i -E 's/^([^#]*[[:space:]])trust([[:space:]]|$)/\1scram-sha-256\2/' "$DATA/pg_hba.conf"
  as_owner "$bin/pg_ctl" -D "$DATA" reload >/dev/null || die "reloading PostgreSQL failed, see $LOG"
  say "PostgreSQL: trust replaced by scram-sha-256 (superuser password in $PWFILE)"
}

running() { [ -f "$DATA/postmaster.pid" ] && kill -0 "$(head -1 "$DATA/postmaster.pid")" 2>/dev/null; }

start() {
  mkdir -p "$CACHE"
  local bin; bin="$(find_bin)" || { install_pg; bin="$(find_bin)" || die "initdb still missing after apt-get install"; }
  if running; then url; return 0; fi
  (umask 077; mkdir -p "$PGDIR"); chmod 700 "$PGDIR"  # the password, the roles' passwords, maybe the data
  [ -f "$PORTFILE" ] || free_port >"$PORTFILE"
  local port; port="$(cat "$PORTFILE")"
  port_taken "$port" && die "port 127.0.0.1:$port is already taken by another process (delete $PORTFILE to choose another)"
  [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres; chown postgres "$PGDIR"; }
  DATA="$(data_dir create)"
  reachable || LOG="$(dirname "$DATA")/postgres.log"
  mkdir -p "$(dirname "$DATA")"; [ "$(id -u)" = 0 ] && chown postgres "$(dirname "$DATA")"
  chmod 700 "$(dirname "$DATA")"  # once the server's user owns it, nobody else needs to enter it
  if [ ! -f "$DATA/PG_VERSION" ]; then
    new_password
    # initdb reads the password from a file the postgres user can read: a copy next to the data, removed after
    local pw; pw="$(dirname "$DATA")/.initdb-pw.$$"
    (umask 077; cp "$PWFILE" "$pw"); [ "$(id -u)" = 0 ] && chown postgres "$pw"
    # collation C (byte order, which for UTF-8 is code point order, as C.UTF-8 sorts): PostgreSQL compares text
    # keys (pseudonyms, ids) in the indexes with memcmp, not through the locale; character classes stay C.UTF-8
    as_owner "$bin/initdb" -D "$DATA" -U postgres --auth=scram-sha-256 --pwfile="$pw" -E UTF8 --locale=C.UTF-8 --lc-collate=C \
      >"$PGDIR/initdb.log" 2>&1 || { rm -f "$pw"; die "initdb failed (the postgres user needs access to $DATA), see $PGDIR/initdb.log"; }
    rm -f "$pw"
  fi
  touch "$LOG"; [ "$(id -u)" = 0 ] && chown postgres "$LOG"
  say "starting PostgreSQL on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=on -c max_connections=200 -c shared_buffers=256MB" \
    start >/dev/null || die "PostgreSQL did not start, see $LOG"
  require_passwords "$bin" "$port"
  export PGPASSWORD; PGPASSWORD="$(cat "$PWFILE")"
  "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres -T template0 -E UTF8 --lc-collate=C --lc-ctype=C.UTF-8 "$DB" \
    || die "createdb $DB failed"
  url
}

stop() {  # stop [fast|immediate|smart]: pg_ctl's shutdown mode (default fast; the fault suite uses immediate)
  local mode="${1:-fast}"
  case "$mode" in fast|immediate|smart) ;; *) die "unknown shutdown mode $mode (fast, immediate or smart)" ;; esac
  local bin; bin="$(find_bin)" || { echo "postgres: not installed"; return 0; }
  if running; then as_owner "$bin/pg_ctl" -D "$DATA" -m "$mode" -w stop >/dev/null; echo "postgres: stopped$([ "$mode" = fast ] || echo " ($mode)")"; else echo "postgres: not running"; fi
}

purge() {  # stop, then delete the cluster (also a relocated one) and its records
  stop
  if [ -f "$DATAREC" ]; then
    local d; d="$(dirname "$(cat "$DATAREC")")"
    case "$d" in /var/tmp/praktijkregister-pg.*) rm -rf "$d"; echo "postgres: removed $d" ;; esac
  fi
  rm -rf "$PGDIR"
}

status() {
  if running; then echo "postgres: running (pid $(head -1 "$DATA/postmaster.pid")) at $(url | sed -E 's/:[^:@/]+@/:***@/')"; else echo "postgres: stopped"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-fast}" ;;
  purge) purge ;;
  status) status ;;
  url) url ;;
  *) echo "usage: $0 start|stop [fast|immediate|smart]|purge|status|url" >&2; exit 2 ;;
esac
