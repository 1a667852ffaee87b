#!/usr/bin/env bash
# Apache Kafka (KRaft, single combined broker+controller) on 127.0.0.1.
#   ops/kafka.sh fetch | start | stop | status | bootstrap | env
# Secured by default: SASL/SCRAM-SHA-512 on the client listener, the StandardAuthorizer (no ACL =
# denied), the super user `admin` whose password is generated into $KDIR/admin.password (0600).
# The controller listener is loopback-only and needs the admin's password too (SASL PLAIN).
# PRAKTIJK_KAFKA_SECURITY=plaintext before the first start gives the old unauthenticated broker.
# The admin's password never goes on a command line (any local user reads those in ps): StorageTool gets it in an
# argument file (0600, removed after), the readiness probe in its environment. $KDIR and its data folder are 0700.
# `env` prints the export lines a client of this broker needs (bootstrap, security, admin login).
# Jars come from Maven Central via ops/kafka/pom.xml into .cache/kafka/libs.
source "$(dirname "$0")/lib.sh"
KDIR="$CACHE/kafka"
LIBS="$KDIR/libs"
PIDFILE="$KDIR/kafka.pid"
LOG="$KDIR/kafka.log"
PROPS="$KDIR/server.properties"
ADMIN_PW="$KDIR/admin.password"
TIMEOUT="${PRAKTIJK_KAFKA_START_TIMEOUT:-90}"

fetch() {
  if [ -f "$LIBS/.complete" ] && [ "$LIBS/.complete" -nt "$ROOT/ops/kafka/pom.xml" ]; then return 0; fi
  need java "Java 17 runs the Kafka broker"
  need mvn "Maven fetches the Kafka jars from Maven Central"
  say "fetching Kafka jars with Maven"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -q -B -f "$ROOT/ops/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$KDIR/mvn.log" 2>&1 \
    || die "mvn dependency:copy-dependencies failed, see $KDIR/mvn.log"
  touch "$LIBS/.complete"
}

write_config() {
  local port cport
  port="$(free_port)"; cport="$(free_port)"
  while [ "$cport" = "$port" ]; do cport="$(free_port)"; done
  private_dirs
  if [ "${PRAKTIJK_KAFKA_SECURITY:-sasl_scram}" = plaintext ]; then
    cat >"$PROPS" <<PROPS
# written by ops/kafka.sh; ports are fixed once chosen (the KRaft quorum records them)
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$cport
PROPS
  else
    [ -f "$ADMIN_PW" ] || (umask 077; "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$ADMIN_PW")
    chmod 600 "$ADMIN_PW"
    local pw; pw="$(cat "$ADMIN_PW")"
    (umask 077; cat >"$PROPS" <<PROPS
# written by ops/kafka.sh; ports are fixed once chosen (the KRaft quorum records them)
# security: SASL/SCRAM-SHA-512 for clients, StandardAuthorizer, super user admin (password: admin.password)
process.roles=broker,controller
node.id=1
listeners=SASL_PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$cport
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$pw" user_admin="$pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
PROPS
    )
  fi
  cat >>"$PROPS" <<PROPS
log.dirs=$KDIR/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
transaction.timeout.max.ms=900000
PROPS
write_kafka_log4j "$KDIR/log4j2.properties"
}

private_dirs() {  # the broker's folder and its topic data: the owner's only (topic files bypass every ACL)
  (umask 077; mkdir -p "$KDIR/data")
  chmod 700 "$KDIR" "$KDIR/data"
}

bootstrap() { sed -n 's#^advertised.listeners=\(SASL_\)\{0,1\}PLAINTEXT://##p' "$PROPS"; }

secured() { grep -q '^sasl.enabled.mechanisms=' "$PROPS"; }

env_lines() {  # export lines for a client of this broker (the admin login when secured)
  echo "export PRAKTIJK_KAFKA_BOOTSTRAP='$(bootstrap)'"
  if secured; then
    echo "export PRAKTIJK_KAFKA_SECURITY='sasl_scram'"
    echo "export PRAKTIJK_KAFKA_USERNAME='admin'"
    echo "export PRAKTIJK_KAFKA_PASSWORD='$(cat "$ADMIN_PW")'"
  else
    echo "export PRAKTIJK_KAFKA_SECURITY='plaintext'"
  fi
}

wait_ready() {
  local bs; bs="$(bootstrap)"
  local deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    pid_alive "$PIDFILE" || die "Kafka exited during start-up, see $LOG"
    # the password in the probe's environment (readable by its owner only), never in its argv
    if PRAKTIJK_PROBE_PASSWORD="$(secured && cat "$ADMIN_PW" || true)" "$PY" - "$bs" <<'PYCHK' 2>/dev/null; then return 0; fi
import os, sys
from kafka import KafkaAdminClient
pw = os.environ.get("PRAKTIJK_PROBE_PASSWORD", "")
sec = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="admin",
           sasl_plain_password=pw) if pw else {}
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=3000, **sec)
a.list_topics(); a.close()
PYCHK
    sleep 1
  done
  die "Kafka did not answer within ${TIMEOUT}s on $bs, see $LOG"
}

start() {
  if pid_alive "$PIDFILE"; then bootstrap; return 0; fi
  ensure_venv
  fetch
  [ -f "$PROPS" ] || write_config
  private_dirs
  umask 077  # what the broker writes (segments, logs) is the owner's only
  local bs port cport
  bs="$(bootstrap)"; port="${bs##*:}"
  cport="$(sed -n 's#^controller.quorum.bootstrap.servers=127.0.0.1:##p' "$PROPS")"
  for p in "$port" "$cport"; do
    port_taken "$p" && die "port 127.0.0.1:$p is already taken by another process (Kafka config $PROPS; delete $KDIR to choose new ports)"
  done
  if [ ! -f "$KDIR/data/meta.properties" ]; then
    local cid; cid="$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>>"$LOG")" || die "StorageTool random-uuid failed, see $LOG"
    local scram=() argfile="$KDIR/format.args"
    if secured; then
      # StorageTool reads @FILE as arguments, one per line: the SCRAM credential stays off its command line
      printf -- '--add-scram\nSCRAM-SHA-512=[name=admin,password=%s]\n' "$(cat "$ADMIN_PW")" >"$argfile"
      scram=("@$argfile")
    fi
    java -cp "$LIBS/*" -Dlog4j2.configurationFile="$KDIR/log4j2.properties" \
      kafka.tools.StorageTool format --standalone -t "$cid" -c "$PROPS" "${scram[@]}" >/dev/null 2>>"$LOG" \
      || { rm -f "$argfile"; die "formatting Kafka storage failed, see $LOG"; }
    rm -f "$argfile"
  fi
  say "starting Kafka on $bs"
  # setsid: the broker must outlive the shell that started it (and its job control)
  setsid java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$LOG" 2>&1 < /dev/null &
  echo $! >"$PIDFILE"
  wait_ready
  bootstrap
}

status() {
  if pid_alive "$PIDFILE"; then echo "kafka: running (pid $(cat "$PIDFILE")) on $(bootstrap)"; else echo "kafka: stopped"; return 1; fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop_pid "$PIDFILE" kafka ;;
  status) status ;;
  bootstrap) bootstrap ;;
  env) [ -f "$PROPS" ] || die "no Kafka config yet: run ops/kafka.sh start"; env_lines ;;
  *) echo "usage: $0 fetch|start|stop|status|bootstrap|env" >&2; exit 2 ;;
esac
