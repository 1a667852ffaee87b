#!/usr/bin/env bash
# Apache Kafka as a cluster of N KRaft nodes on 127.0.0.1 (each broker + controller: a quorum of N), for the
# production topology: replication, TLS, losing a broker.
#   ops/kafka_cluster.sh start | stop | status | bootstrap | env | kill NODE | start-node NODE | leader | purge
# Clients: SASL/SCRAM-SHA-512 over TLS (SASL_SSL) with a CA and node certificates made here by openssl (PEM, 0600);
# PRAKTIJK_KAFKA_TLS=0 gives SASL_PLAINTEXT. The controllers talk SASL PLAIN on loopback. Replication: topics
# default to min(3, N) replicas and min.insync.replicas 2 (when N >= 3). Secrets never go on a command line: the
# StorageTool reads its arguments from a 0600 Java argument file, the readiness probe the password from its env.
# Folder: $CACHE/kafka-cluster (PRAKTIJK_KAFKA_CLUSTER_DIR), one sub-folder per node. Jars: ops/kafka.sh fetch.
source "$(dirname "$0")/lib.sh"
N="${PRAKTIJK_KAFKA_BROKERS:-3}"
CDIR="${PRAKTIJK_KAFKA_CLUSTER_DIR:-$CACHE/kafka-cluster}"
LIBS="$CACHE/kafka/libs"
ADMIN_PW="$CDIR/admin.password"
TLS_DIR="$CDIR/tls"
TIMEOUT="${PRAKTIJK_KAFKA_START_TIMEOUT:-120}"
TLS="${PRAKTIJK_KAFKA_TLS:-1}"

node_dir() { echo "$CDIR/node$1"; }
props() { echo "$(node_dir "$1")/server.properties"; }
pidfile() { echo "$(node_dir "$1")/kafka.pid"; }
prop() { sed -n "s#^$2=##p" "$(props "$1")"; }  # prop NODE KEY
client_port() { prop "$1" advertised.listeners | sed 's#.*:##'; }
controller_port() { prop "$1" listeners | sed 's#.*CONTROLLER://127.0.0.1:##'; }
replicas() { if [ "$N" -lt 3 ]; then echo "$N"; else echo 3; fi; }
min_isr() { if [ "$(replicas)" -ge 3 ]; then echo 2; else echo 1; fi; }
protocol() { if [ "$TLS" = 1 ]; then echo SASL_SSL; else echo SASL_PLAINTEXT; fi; }

bootstrap() {
  local i out=()
  for i in $(seq 1 "$N"); do out+=("127.0.0.1:$(client_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}

make_tls() {  # a CA and one certificate per node (SAN 127.0.0.1, localhost), PEM; keys 0600
  [ -f "$TLS_DIR/ca.pem" ] && return 0
  need openssl "openssl makes the cluster's CA and node certificates"
  (umask 077; mkdir -p "$TLS_DIR")
  (umask 077
   openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=Praktijkregister test CA" \
     -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" 2>/dev/null) || die "openssl could not make the CA"
  local i
  for i in $(seq 1 "$N"); do
    (umask 077
     openssl req -newkey rsa:2048 -nodes -subj "/CN=kafka-node$i" -keyout "$TLS_DIR/node$i.key.rsa" \
       -out "$TLS_DIR/node$i.csr" 2>/dev/null \
     && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$TLS_DIR/node$i.ext" \
     && openssl x509 -req -in "$TLS_DIR/node$i.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
          -CAcreateserial -days 825 -extfile "$TLS_DIR/node$i.ext" -out "$TLS_DIR/node$i.crt" 2>/dev/null \
     && openssl pkcs8 -topk8 -nocrypt -in "$TLS_DIR/node$i.key.rsa" -out "$TLS_DIR/node$i.key" \
     && cat "$TLS_DIR/node$i.key" "$TLS_DIR/node$i.crt" >"$TLS_DIR/node$i.pem") \
      || die "openssl could not make the certificate of node $i"
    rm -f "$TLS_DIR/node$i.csr" "$TLS_DIR/node$i.ext" "$TLS_DIR/node$i.key.rsa"
  done
  chmod 644 "$TLS_DIR/ca.pem"  # the CA certificate is public: clients need it
}

write_configs() {
  (umask 077; mkdir -p "$CDIR")
  [ -f "$ADMIN_PW" ] || (umask 077; "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$ADMIN_PW")
  [ "$TLS" = 1 ] && make_tls
  local pw i voters=() ports=() cports=() p proto
  pw="$(cat "$ADMIN_PW")"; proto="$(protocol)"
  for i in $(seq 1 "$N"); do
    p="$(free_port)"; while [[ " ${ports[*]} ${cports[*]} " == *" $p "* ]]; do p="$(free_port)"; done; ports+=("$p")
    p="$(free_port)"; while [[ " ${ports[*]} ${cports[*]} " == *" $p "* ]]; do p="$(free_port)"; done; cports+=("$p")
    voters+=("$i@127.0.0.1:${cports[$((i - 1))]}")
  done
  for i in $(seq 1 "$N"); do
    (umask 077; mkdir -p "$(node_dir "$i")/data")
    (umask 077; cat >"$(props "$i")" <<PROPS
# written by ops/kafka_cluster.sh; ports are fixed once chosen (the KRaft quorum records them)
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=$proto://127.0.0.1:${ports[$((i - 1))]},CONTROLLER://127.0.0.1:${cports[$((i - 1))]}
advertised.listeners=$proto://127.0.0.1:${ports[$((i - 1))]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=$proto
listener.security.protocol.map=$proto:$proto,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.$(echo "$proto" | tr 'A-Z' 'a-z').scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$pw" user_admin="$pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
log.dirs=$(node_dir "$i")/data
num.partitions=6
auto.create.topics.enable=false
default.replication.factor=$(replicas)
min.insync.replicas=$(min_isr)
offsets.topic.replication.factor=$(replicas)
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$(replicas)
transaction.state.log.min.isr=$(min_isr)
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=$(replicas)
share.coordinator.state.topic.min.isr=$(min_isr)
group.initial.rebalance.delay.ms=0
transaction.timeout.max.ms=900000
unclean.leader.election.enable=false
PROPS
    )
    if [ "$TLS" = 1 ]; then
      cat >>"$(props "$i")" <<PROPS
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/node$i.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
ssl.endpoint.identification.algorithm=https
ssl.client.auth=none
PROPS
    fi
  done
  write_kafka_log4j "$CDIR/log4j2.properties"
}

format_storage() {  # once per node; the cluster id is shared
  local i cid args
  [ -f "$CDIR/cluster.id" ] || java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid >"$CDIR/cluster.id" 2>>"$CDIR/format.log" \
    || die "StorageTool random-uuid failed, see $CDIR/format.log"
  cid="$(cat "$CDIR/cluster.id")"
  for i in $(seq 1 "$N"); do
    [ -f "$(node_dir "$i")/data/meta.properties" ] && continue
    # the admin's SCRAM credential goes in through a Java argument file (0600), never on the command line
    args="$(node_dir "$i")/format.args"
    (umask 077; printf '%s\n' kafka.tools.StorageTool format -t "$cid" -c "$(props "$i")" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$(cat "$ADMIN_PW")]" >"$args")
    java -cp "$LIBS/*" -Dlog4j2.configurationFile="$CDIR/log4j2.properties" "@$args" >/dev/null 2>>"$CDIR/format.log"
    local rc=$?
    rm -f "$args"
    [ $rc = 0 ] || die "formatting the storage of node $i failed, see $CDIR/format.log"
  done
}

start_node() {
  local i="$1"
  pid_alive "$(pidfile "$i")" && return 0
  local p; p="$(client_port "$i")"
  port_taken "$p" && die "port 127.0.0.1:$p of node $i is taken by another process (delete $CDIR to choose new ports)"
  # setsid: the broker outlives the shell that started it
  setsid java -Xms192m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$CDIR/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$(props "$i")" >>"$(node_dir "$i")/kafka.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$i")"
}

probe() {  # probe BOOTSTRAP [min_brokers]: the cluster answers with at least that many brokers (password from the env)
  PRAKTIJK_PROBE_PASSWORD="$(cat "$ADMIN_PW")" PRAKTIJK_PROBE_CA="$([ "$TLS" = 1 ] && echo "$TLS_DIR/ca.pem")" \
    "$PY" - "$1" "${2:-1}" "$(protocol)" <<'PYCHK' 2>/dev/null
import os, sys
from kafka import KafkaAdminClient
sec = dict(security_protocol=sys.argv[3], sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="admin",
           sasl_plain_password=os.environ["PRAKTIJK_PROBE_PASSWORD"])
if os.environ.get("PRAKTIJK_PROBE_CA"):
    sec["ssl_cafile"] = os.environ["PRAKTIJK_PROBE_CA"]
a = KafkaAdminClient(bootstrap_servers=sys.argv[1].split(","), request_timeout_ms=5000, **sec)
n = len(a.describe_cluster()["brokers"]); a.close()
sys.exit(0 if n >= int(sys.argv[2]) else 1)
PYCHK
}

wait_ready() {  # wait_ready MIN_BROKERS
  local deadline=$((SECONDS + TIMEOUT)) i
  while [ $SECONDS -lt $deadline ]; do
    for i in $(seq 1 "$N"); do
      [ -f "$(pidfile "$i")" ] && ! pid_alive "$(pidfile "$i")" && [ "${KILLED:-}" != "$i" ] \
        && die "Kafka node $i exited during start-up, see $(node_dir "$i")/kafka.log"
    done
    probe "$(bootstrap)" "$1" && return 0
    sleep 1
  done
  die "the Kafka cluster did not answer with $1 brokers within ${TIMEOUT}s on $(bootstrap), see $CDIR/node*/kafka.log"
}

start() {
  [ "$N" -ge 1 ] || die "PRAKTIJK_KAFKA_BROKERS must be at least 1"
  "$ROOT/ops/kafka.sh" fetch
  ensure_venv
  [ -f "$(props 1)" ] || write_configs
  format_storage
  local i
  for i in $(seq 1 "$N"); do start_node "$i"; done
  say "starting a Kafka cluster of $N nodes on $(bootstrap)"
  wait_ready "$N"
  bootstrap
}

any_alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }

stop() {  # every node at once: one by one, the last ones wait in vain for a quorum to shut down cleanly
  local i pids=() deadline=$((SECONDS + 30))
  for i in $(seq 1 "$N"); do pid_alive "$(pidfile "$i")" && pids+=("$(cat "$(pidfile "$i")")"); done
  if [ ${#pids[@]} -gt 0 ]; then kill -TERM "${pids[@]}" 2>/dev/null || true; fi
  while [ $SECONDS -lt $deadline ] && any_alive "${pids[@]}"; do sleep 0.5; done
  for i in $(seq 1 "$N"); do stop_pid "$(pidfile "$i")" "kafka node $i"; done
}

env_lines() {
  echo "export PRAKTIJK_KAFKA_BOOTSTRAP='$(bootstrap)'"
  if [ "$TLS" = 1 ]; then
    echo "export PRAKTIJK_KAFKA_SECURITY='sasl_ssl'"
    echo "export PRAKTIJK_KAFKA_CA_FILE='$TLS_DIR/ca.pem'"
  else
    echo "export PRAKTIJK_KAFKA_SECURITY='sasl_scram'"
  fi
  echo "export PRAKTIJK_KAFKA_USERNAME='admin'"
  echo "export PRAKTIJK_KAFKA_PASSWORD='$(cat "$ADMIN_PW")'"
  echo "export PRAKTIJK_REPLICATION_FACTOR='$(replicas)'"
}

status() {
  local i up=0
  for i in $(seq 1 "$N"); do
    if pid_alive "$(pidfile "$i")"; then echo "kafka node $i: running (pid $(cat "$(pidfile "$i")")) on 127.0.0.1:$(client_port "$i")"; up=$((up + 1))
    else echo "kafka node $i: stopped"; fi
  done
  [ "$up" = "$N" ]
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  bootstrap) bootstrap ;;
  env) [ -f "$(props 1)" ] || die "no cluster config yet: run ops/kafka_cluster.sh start"; env_lines ;;
  kill)  # kill -9 of one node: a machine that goes without a goodbye
    [ -n "${2:-}" ] || die "usage: $0 kill NODE"
    pid_alive "$(pidfile "$2")" || die "node $2 is not running"
    kill -9 "$(cat "$(pidfile "$2")")" ;;
  start-node) [ -n "${2:-}" ] || die "usage: $0 start-node NODE"; start_node "$2"; KILLED="" wait_ready "$N" ;;
  leader)  # the KRaft quorum's leader (the active controller), as the live node with the highest epoch knows it
    best=-1; lead=""
    for i in $(seq 1 "$N"); do
      pid_alive "$(pidfile "$i")" || continue
      st="$(node_dir "$i")/data/__cluster_metadata-0/quorum-state"; [ -f "$st" ] || continue
      ep="$(sed -n 's/.*"leaderEpoch":\([0-9-]*\).*/\1/p' "$st")"; id="$(sed -n 's/.*"leaderId":\([0-9-]*\).*/\1/p' "$st")"
      if [ -n "$ep" ] && [ "$ep" -gt "$best" ] && [ "$id" != -1 ]; then best="$ep"; lead="$id"; fi
    done
    [ -n "$lead" ] || die "no live node knows a quorum leader"
    echo "$lead" ;;
  purge) stop; rm -rf "$CDIR" ;;
  *) echo "usage: $0 start|stop|status|bootstrap|env|kill NODE|start-node NODE|leader|purge" >&2; exit 2 ;;
esac
