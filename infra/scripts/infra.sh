#!/usr/bin/env bash
# Brings up the real dependencies on this machine, without Docker:
#   - Apache Kafka in KRaft mode, from the official jars resolved by Maven (infra/kafka/pom.xml)
#   - Redis, reusing one on 127.0.0.1:6379 or starting Debian's redis-server
#   - PostgreSQL from Debian's packages (the route log and its reports), migrated by node-pg-migrate
#   - SeaweedFS (its S3 gateway: the object store for uploads), built from the Go module proxy into .tools/bin
#   - ffmpeg, chromium and openssl from Debian's packages (the mix function; the dashboard's browser tests; a test certificate)
# Usage: infra.sh up|down|status. Idempotent: `up` twice leaves one broker and one Redis.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${MESH_INFRA_DIR:-$ROOT/infra/.cache}"
KAFKA_DIR="$CACHE/kafka"
KAFKA_HOST="127.0.0.1"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms384m -Xmx768m}"
# The JVM options Kafka's own kafka-run-class.sh uses: G1 aiming at 20 ms pauses (the
# JVM's default aim is 200 ms, which a produce request waiting on the broker feels).
KAFKA_JVM="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_DIR="$CACHE/redis"
# Redis persists to an append-only file: `everysec` (the default) loses at most the last second of
# writes on a machine crash and nothing on a process crash; `always` loses nothing, at a price the README gives.
REDIS_APPENDFSYNC="${REDIS_APPENDFSYNC:-everysec}"
WEED_MODULE="github.com/seaweedfs/seaweedfs"
WEED_VERSION="v0.0.0-20261109003541-7506e5f91cd6"
WEED_BIN="$ROOT/.tools/bin/weed"
WEED_DIR="$CACHE/seaweedfs"
S3_PORT="${S3_PORT:-8333}"
# Loopback-only development credentials of the local store; a deployment gives its own (OBJECT_STORE_* in the Secret).
OBJECT_STORE_ACCESS_KEY="${OBJECT_STORE_ACCESS_KEY:-mesh-local}"
OBJECT_STORE_SECRET_KEY="${OBJECT_STORE_SECRET_KEY:-mesh-local-secret-not-for-production}"
PG_PORT="${PG_PORT:-5432}"
PG_DIR="$CACHE/postgres"
# The local database trusts loopback connections (like Redis and Kafka here); a deployment gives DATABASE_URL with credentials.
DATABASE_URL="${DATABASE_URL:-postgres://mesh@127.0.0.1:$PG_PORT/mesh}"

say() { printf '[infra] %s\n' "$*"; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

need() { # need CMD "what to install"
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: install $2"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

apt_install() { # apt_install PKG...: only as root (or with sudo), never interactively
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
    sudo="sudo -n"
  fi
  command -v apt-get >/dev/null 2>&1 || return 1
  say "installing $* from Debian's packages"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
    $sudo apt-get update -qq >/dev/null
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    { $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# ---------------------------------------------------------------- Redis
redis_up() {
  if command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; then
    say "redis: already answering on 127.0.0.1:$REDIS_PORT"
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server || die "redis-server not found and cannot be installed here: install Debian's redis-server (apt-get install redis-server)"
  fi
  mkdir -p "$REDIS_DIR"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' \
    --appendonly yes --appendfsync "$REDIS_APPENDFSYNC" --aof-use-rdb-preamble yes \
    --auto-aof-rewrite-min-size 512mb \
    --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" >/dev/null
  for _ in $(seq 1 100); do
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ] && { say "redis: started on 127.0.0.1:$REDIS_PORT"; return; }
    sleep 0.1
  done
  die "redis-server did not answer on 127.0.0.1:$REDIS_PORT (see $REDIS_DIR/redis.log)"
}

redis_down() {
  if [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$REDIS_DIR/redis.pid")"
    say "redis: stopped"
  else
    say "redis: not started by this project (left alone)"
  fi
  rm -f "$REDIS_DIR/redis.pid"
}

redis_status() {
  if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; then say "redis: up on 127.0.0.1:$REDIS_PORT"; else say "redis: down"; return 1; fi
}

# ---------------------------------------------------------------- PostgreSQL
# The route log (every order event, the trails of couriers on an order) and the dispatch reports.
pg_bin() { # the newest installed server's bin directory
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

pg_as_owner() { # the server refuses to run as root: as root, it runs as Debian's postgres user
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ready() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }

postgres_up() {
  if [ -z "$(pg_bin || true)" ]; then
    apt_install postgresql || die "PostgreSQL not found and cannot be installed here: install Debian's postgresql (apt-get install postgresql)"
  fi
  local bin
  bin="$(pg_bin)"
  mkdir -p "$PG_DIR"
  if pg_ready; then
    say "postgres: already answering on 127.0.0.1:$PG_PORT"
  else
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
      pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U mesh --auth=trust -E UTF8 --no-instructions >"$PG_DIR/initdb.log" 2>&1 ||
        die "postgres: initdb failed (see $PG_DIR/initdb.log)"
    fi
    pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=200 -c shared_buffers=256MB -c synchronous_commit=on" \
      >/dev/null || die "postgres did not start (see $PG_DIR/postgres.log)"
    say "postgres: started on 127.0.0.1:$PG_PORT"
  fi
  "$bin/psql" -q "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'mesh'" | grep -q 1 ||
    "$bin/psql" -q "${DATABASE_URL%/*}/postgres" -c "CREATE DATABASE mesh" >/dev/null
  DATABASE_URL="$DATABASE_URL" node "$ROOT/infra/scripts/db-migrate.mjs" >"$PG_DIR/migrate.log" 2>&1 ||
    die "postgres: the migrations failed (see $PG_DIR/migrate.log)"
  say "postgres: migrated ($(grep -c '^applied: ' "$PG_DIR/migrate.log" || true) new)"
}

postgres_down() {
  local bin
  bin="$(pg_bin || true)"
  if [ -n "$bin" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
    pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    say "postgres: stopped"
  else
    say "postgres: not started by this project (left alone)"
  fi
}

postgres_status() {
  if [ -n "$(pg_bin || true)" ] && pg_ready; then say "postgres: up on 127.0.0.1:$PG_PORT"; else say "postgres: down"; return 1; fi
}

# ---------------------------------------------------------------- object store (SeaweedFS)
# Built from source through the Go module proxy, like k6: `go install` refuses a module with replace
# directives, so the pinned module is downloaded and built as its own main module.
weed_build() {
  if [ -x "$WEED_BIN" ] && [ -f "$WEED_BIN.version" ] && [ "$(cat "$WEED_BIN.version")" = "$WEED_VERSION" ]; then return; fi
  need go "Go 1.26+ (SeaweedFS is built from source)"
  say "objects: building SeaweedFS $WEED_VERSION (a few minutes, once)"
  local dir
  dir="$(GOFLAGS=-mod=mod go mod download -json "$WEED_MODULE@$WEED_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')"
  mkdir -p "$(dirname "$WEED_BIN")" "$WEED_DIR"
  (cd "$dir" && GOFLAGS=-mod=mod go build -o "$WEED_BIN" ./weed) >"$WEED_DIR/build.log" 2>&1 ||
    die "objects: building SeaweedFS failed (see $WEED_DIR/build.log)"
  echo "$WEED_VERSION" >"$WEED_BIN.version"
}

weed_pid() { [ -f "$WEED_DIR/weed.pid" ] && kill -0 "$(cat "$WEED_DIR/weed.pid")" 2>/dev/null && cat "$WEED_DIR/weed.pid"; }

objects_up() {
  weed_build
  mkdir -p "$WEED_DIR/data"
  if [ -n "$(weed_pid || true)" ]; then
    say "objects: already running (pid $(weed_pid))"
  elif port_open 127.0.0.1 "$S3_PORT"; then
    say "objects: something already listens on 127.0.0.1:$S3_PORT, reusing it"
  else
    cat >"$WEED_DIR/s3.json" <<JSON
{"identities":[{"name":"mesh","credentials":[{"accessKey":"$OBJECT_STORE_ACCESS_KEY","secretKey":"$OBJECT_STORE_SECRET_KEY"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
    # One process: master, volume, filer and the S3 gateway, on loopback; small volumes for a development
    # disk, as many as its free space holds (each bucket takes several at once as it grows).
    setsid nohup "$WEED_BIN" server -dir="$WEED_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -master.port=9333 -master.volumeSizeLimitMB=256 -volume.port=8089 -volume.max=0 \
      -filer -filer.port=8888 -s3 -s3.port="$S3_PORT" -s3.config="$WEED_DIR/s3.json" \
      >"$WEED_DIR/weed.log" 2>&1 </dev/null &
    echo $! >"$WEED_DIR/weed.pid"
    say "objects: starting SeaweedFS (pid $(cat "$WEED_DIR/weed.pid"))"
  fi
  OBJECT_STORE_URL="http://127.0.0.1:$S3_PORT" OBJECT_STORE_ACCESS_KEY="$OBJECT_STORE_ACCESS_KEY" \
    OBJECT_STORE_SECRET_KEY="$OBJECT_STORE_SECRET_KEY" node "$ROOT/infra/scripts/buckets.mjs" --wait 60 2>"$WEED_DIR/buckets.log" ||
    die "objects: the S3 gateway did not answer on 127.0.0.1:$S3_PORT (see $WEED_DIR/buckets.log and weed.log)"
}

objects_down() {
  local pid
  pid="$(weed_pid || true)"
  if [ -z "$pid" ]; then say "objects: not running"; rm -f "$WEED_DIR/weed.pid"; return; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$WEED_DIR/weed.pid"
  say "objects: stopped"
}

objects_status() {
  if port_open 127.0.0.1 "$S3_PORT"; then say "objects: S3 up on 127.0.0.1:$S3_PORT"; else say "objects: down"; return 1; fi
}

# ---------------------------------------------------------------- media tools
# ffmpeg mixes the live rooms; setpriv (util-linux) ties each ffmpeg to the process that started it.
# Chromium runs the dashboard's browser tests (headless, driven by playwright-core).
tools_up() {
  if ! command -v ffmpeg >/dev/null 2>&1; then
    apt_install ffmpeg || die "ffmpeg not found and cannot be installed here: install Debian's ffmpeg (apt-get install ffmpeg)"
  fi
  say "ffmpeg: $(ffmpeg -hide_banner -version | head -n 1 | cut -d' ' -f1-3)"
  if ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium || die "chromium not found and cannot be installed here: install Debian's chromium (apt-get install chromium)"
  fi
  say "chromium: $(chromium --version 2>/dev/null | head -n 1)"
  # The proof photos' watermark is set in DejaVu Sans (libs/media).
  if [ ! -d /usr/share/fonts/truetype/dejavu ]; then
    apt_install fonts-dejavu-core || die "DejaVu fonts not found and cannot be installed here: install Debian's fonts-dejavu-core"
  fi
  command -v setpriv >/dev/null 2>&1 || say "setpriv not found (util-linux): a killed functions process may leave ffmpeg running"
  # The security tests serve a self-signed https input, made with openssl, that ffmpeg must refuse.
  if ! command -v openssl >/dev/null 2>&1; then
    apt_install openssl || die "openssl not found and cannot be installed here: install Debian's openssl (apt-get install openssl)"
  fi
}

# ---------------------------------------------------------------- Kafka
kafka_pid() { [ -f "$KAFKA_DIR/kafka.pid" ] && kill -0 "$(cat "$KAFKA_DIR/kafka.pid")" 2>/dev/null && cat "$KAFKA_DIR/kafka.pid"; }

kafka_libs() {
  if [ -f "$KAFKA_DIR/libs/.resolved" ] && cmp -s "$ROOT/infra/kafka/pom.xml" "$KAFKA_DIR/libs/.resolved"; then return; fi
  need java "a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  need mvn "Apache Maven (Debian: apt-get install maven)"
  say "kafka: resolving the broker jars from Maven Central"
  rm -rf "$KAFKA_DIR/libs" && mkdir -p "$KAFKA_DIR/libs"
  mvn -q -B -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_DIR/libs" -DincludeScope=runtime >"$KAFKA_DIR/maven.log" 2>&1 ||
    die "maven could not resolve the Kafka jars (see $KAFKA_DIR/maven.log)"
  cp "$ROOT/infra/kafka/pom.xml" "$KAFKA_DIR/libs/.resolved"
}

kafka_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  cat >"$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=12
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# Consumers use a 2.5 s session so a killed worker's partitions move on within ~3 s (the default floor is 6 s).
group.min.session.timeout.ms=1000
log.retention.hours=24
log.segment.bytes=67108864
PROPS
  cat >"$KAFKA_DIR/log4j.properties" <<'PROPS'
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
PROPS
}

kafka_java() { # kafka_java MAIN ARGS...
  java $KAFKA_HEAP $KAFKA_JVM \
    -Dkafka.logs.dir="$KAFKA_DIR/logs" -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
    -cp "$KAFKA_DIR/libs/*" "$@"
}

kafka_up() {
  # The jars also run the fault tier's own brokers (libs/testing/src/infra-processes.ts), whichever broker serves 9092.
  kafka_libs
  if [ -n "$(kafka_pid || true)" ]; then
    say "kafka: already running (pid $(kafka_pid))"
  elif port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    say "kafka: something already listens on $KAFKA_HOST:$KAFKA_PORT, reusing it"
  else
    kafka_config
    if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
      local cluster_id
      cluster_id="$(KAFKA_HEAP="-Xmx128m" kafka_java kafka.tools.StorageTool random-uuid)"
      KAFKA_HEAP="-Xmx256m" kafka_java kafka.tools.StorageTool format -t "$cluster_id" \
        -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/logs/format.log" 2>&1 ||
        die "kafka: formatting storage failed (see $KAFKA_DIR/logs/format.log)"
      say "kafka: storage formatted (cluster $cluster_id)"
    fi
    # setsid: the broker outlives this script and the npm process that ran it.
    setsid nohup java $KAFKA_HEAP $KAFKA_JVM \
      -Dkafka.logs.dir="$KAFKA_DIR/logs" -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
      -cp "$KAFKA_DIR/libs/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/logs/stdout.log" 2>&1 </dev/null &
    echo $! >"$KAFKA_DIR/kafka.pid"
    say "kafka: starting (pid $(cat "$KAFKA_DIR/kafka.pid"))"
  fi
  # The broker "really answers" when a client can read metadata and create the topics.
  node "$ROOT/infra/scripts/kafka-topics.mjs" --bootstrap "$KAFKA_HOST:$KAFKA_PORT" --wait 90 ||
    die "kafka did not answer on $KAFKA_HOST:$KAFKA_PORT (see $KAFKA_DIR/logs/)"
}

kafka_down() {
  local pid
  pid="$(kafka_pid || true)"
  if [ -z "$pid" ]; then say "kafka: not running"; rm -f "$KAFKA_DIR/kafka.pid"; return; fi
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || pgrep -P "$pid" >/dev/null 2>&1 || break
    sleep 0.1
  done
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$KAFKA_DIR/kafka.pid"
  say "kafka: stopped"
}

kafka_status() {
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then say "kafka: up on $KAFKA_HOST:$KAFKA_PORT"; else say "kafka: down"; return 1; fi
}

case "${1:-}" in
  up)
    need node "Node.js 20+"
    tools_up
    redis_up
    postgres_up
    objects_up
    kafka_up
    ;;
  down)
    kafka_down
    objects_down
    postgres_down
    redis_down
    ;;
  status)
    rc=0
    kafka_status || rc=1
    redis_status || rc=1
    postgres_status || rc=1
    objects_status || rc=1
    exit $rc
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
