#!/usr/bin/env bash
# Debian's Prometheus on 127.0.0.1 scraping the validator, projector, reconciler and API, with the alert rules.
#   ops/prometheus.sh start | stop | status | url | env
# start: installs the Debian package `prometheus` when missing (never a downloaded binary), keeps its port and the
# components' metrics ports in .cache/prometheus/ (chosen once; preset PRAKTIJK_<C>_METRICS_PORT win), writes
# prometheus.yml from ops/prometheus/prometheus.yml.in, creates an operations API key for the scrape (needs the stack's
# settings: .cache/stack.env) and prints the URL. `eval "$(ops/prometheus.sh env)"` exports the metrics ports, so the
# components started afterwards serve /metrics where Prometheus looks. Data: .cache/prometheus/data.
source "$(dirname "$0")/lib.sh"
PROMDIR="$CACHE/prometheus"
PORTFILE="$PROMDIR/port"
TARGETS="$PROMDIR/targets.env"  # export PRAKTIJK_<COMPONENT>_METRICS_PORT=... (0600 not needed: ports only)
KEYFILE="$PROMDIR/api.key"      # operations key for the API's /metrics: opens nothing else (0600)
PIDFILE="$PROMDIR/prometheus.pid"
LOG="$PROMDIR/prometheus.log"
CONFIG="$PROMDIR/prometheus.yml"
INTERVAL="${PRAKTIJK_PROMETHEUS_SCRAPE_INTERVAL:-15s}"

url() { echo "http://127.0.0.1:$(cat "$PORTFILE")"; }

choose_ports() {  # the components' metrics ports: kept once chosen; a preset PRAKTIJK_<C>_METRICS_PORT wins
  local c var port
  : >"$TARGETS.new"
  for c in VALIDATOR PROJECTOR RECONCILER; do
    var="PRAKTIJK_${c}_METRICS_PORT"
    port="${!var:-0}"
    if [ "$port" = 0 ] && [ -f "$TARGETS" ]; then port="$(sed -n "s/^export $var=//p" "$TARGETS")"; fi
    if [ -z "$port" ] || [ "$port" = 0 ]; then port="$(free_port)"; fi
    echo "export $var=$port" >>"$TARGETS.new"
  done
  mv "$TARGETS.new" "$TARGETS"
}

api_key() {  # an operations key for the scrape (it reads /metrics and /v1/status only); a new one when the file
  # is missing, its key is unknown or revoked, or it is a key of another scope (an older landelijk one: revoked then)
  local key_id="" row
  [ -f "$CACHE/stack.env" ] && source "$CACHE/stack.env"
  if [ -s "$KEYFILE" ]; then
    key_id="$(cut -d_ -f2 "$KEYFILE")"
    row="$("$VENV/bin/praktijkregister" apikey list 2>/dev/null | grep -- "$key_id" || true)"
    grep -q "operations" <<<"$row" && return 0
  fi
  (umask 077; "$VENV/bin/praktijkregister" apikey create --scope operations --naam prometheus 2>/dev/null >"$KEYFILE.new") \
    || { rm -f "$KEYFILE.new"; say "no API key for Prometheus (is the stack up? ops/stack.sh up): the API job will show down"; return 0; }
  mv "$KEYFILE.new" "$KEYFILE"
  # the key it replaces stays usable nowhere (a landelijk key on the scraper's disk would open persons)
  [ -n "$key_id" ] && "$VENV/bin/praktijkregister" apikey revoke "$key_id" >/dev/null 2>&1 || true
}

write_config() {
  export SCRAPE_INTERVAL="$INTERVAL" RULES="$ROOT/ops/prometheus/alerts.yml" API_KEY_FILE="$KEYFILE"
  export API_TARGET="${PRAKTIJK_API_HOST:-127.0.0.1}:${PRAKTIJK_API_PORT:-8000}"
  source "$TARGETS"
  envsubst '${SCRAPE_INTERVAL} ${RULES} ${API_KEY_FILE} ${API_TARGET} ${PRAKTIJK_VALIDATOR_METRICS_PORT} ${PRAKTIJK_PROJECTOR_METRICS_PORT} ${PRAKTIJK_RECONCILER_METRICS_PORT}' \
    <"$ROOT/ops/prometheus/prometheus.yml.in" >"$CONFIG"
  [ -f "$KEYFILE" ] || : >"$KEYFILE"  # promtool refuses a missing credentials file
  promtool check config "$CONFIG" >"$PROMDIR/check.log" 2>&1 || die "invalid $CONFIG, see $PROMDIR/check.log"
}

start() {
  ensure_debs prometheus
  (umask 077; mkdir -p "$PROMDIR/data"); chmod 700 "$PROMDIR" "$PROMDIR/data"  # data folders: the owner's only
  if pid_alive "$PIDFILE"; then echo "prometheus: running (pid $(cat "$PIDFILE")) on $(url)"; return 0; fi
  [ -s "$PORTFILE" ] || free_port >"$PORTFILE"
  port_taken "$(cat "$PORTFILE")" && die "port $(cat "$PORTFILE") (kept in $PORTFILE) is taken by another process"
  [ -x "$VENV/bin/praktijkregister" ] || ensure_venv  # only for `apikey`; ops/demo and ops/test keep it current
  choose_ports
  api_key
  write_config
  nohup prometheus --config.file="$CONFIG" --storage.tsdb.path="$PROMDIR/data" \
    --web.listen-address="127.0.0.1:$(cat "$PORTFILE")" --storage.tsdb.retention.time=15d \
    >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 60); do
    if curl -fsS "$(url)/-/ready" >/dev/null 2>&1; then echo "prometheus: $(url) (alerts: $(url)/alerts)"; return 0; fi
    pid_alive "$PIDFILE" || die "prometheus exited, see $LOG"
    sleep 0.5
  done
  die "prometheus not ready after 30 s, see $LOG"
}

status() {
  if pid_alive "$PIDFILE"; then echo "prometheus: running (pid $(cat "$PIDFILE")) on $(url)"; else echo "prometheus: not running"; return 3; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$PIDFILE" prometheus ;;
  status) status ;;
  url) url ;;
  env) cat "$TARGETS" ;;
  *) echo "usage: $0 start|stop|status|url|env" >&2; exit 2 ;;
esac
