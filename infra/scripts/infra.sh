#!/usr/bin/env bash
# Brings up the real dependencies on this machine, without Docker:
#   - Apache Kafka in KRaft mode, from the official jars resolved by Maven (infra/kafka/pom.xml)
#   - Redis, reusing one on 127.0.0.1:6379 or starting Debian's redis-server
#   - PostgreSQL from Debian's packages (the route log and its reports), migrated by node-pg-migrate
#   - SeaweedFS (its S3 gateway: the object store for uploads), built from the Go module proxy into .tools/bin
#   - ffmpeg, chromium and openssl from Debian's packages (the mix function; the dashboard's browser tests; a test certificate)
#   - with --cluster, the cluster topology besides: three KRaft brokers (replication 3), and HAProxy
#     for the load balancer in front of several gateways (the Redis Cluster is always up: the
#     Redis adapters' contract tests run against it)
# Usage: infra.sh up|down|status [--cluster]. Idempotent: `up` twice leaves one broker and one Redis.
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
# The Redis Cluster: three masters with a replica each, on consecutive ports from REDIS_CLUSTER_PORT.
REDIS_CLUSTER_PORT="${REDIS_CLUSTER_PORT:-7001}"
REDIS_CLUSTER_DIR="$CACHE/redis-cluster"
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

# ---------------------------------------------------------------- Redis Cluster
redis_cluster_ports() { seq "$REDIS_CLUSTER_PORT" $((REDIS_CLUSTER_PORT + 5)); }

redis_cluster_ok() { redis-cli -h 127.0.0.1 -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

redis_cluster_up() {
  # Six nodes of Debian's redis-server in cluster mode, each persisting like the single Redis; a
  # replica is promoted by the others when its master stops answering for cluster-node-timeout
  # (0.5 s: with 1 s, a master kill stopped its market's dispatch for 3.4-4.3 s).
  local port dir started=0
  for port in $(redis_cluster_ports); do
    dir="$REDIS_CLUSTER_DIR/$port"
    [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ] && continue
    mkdir -p "$dir"
    (cd "$dir" && redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 500 \
      --cluster-replica-validity-factor 0 --cluster-allow-reads-when-down no \
      --appendonly yes --appendfsync "$REDIS_APPENDFSYNC" --aof-use-rdb-preamble yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null)
    started=1
  done
  for port in $(redis_cluster_ports); do
    for _ in $(seq 1 100); do
      [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ] && break
      sleep 0.1
    done
  done
  if ! redis_cluster_ok && [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | grep -c '^cluster_slots_assigned:0')" = 1 ]; then
    # shellcheck disable=SC2046
    redis-cli --cluster create $(redis_cluster_ports | sed 's/^/127.0.0.1:/') --cluster-replicas 1 --cluster-yes >/dev/null \
      || die "redis-cli --cluster create failed (see $REDIS_CLUSTER_DIR/*/redis.log)"
  fi
  for _ in $(seq 1 150); do
    redis_cluster_ok && { [ "$started" = 1 ] && say "redis cluster: started on 127.0.0.1:$REDIS_CLUSTER_PORT-$((REDIS_CLUSTER_PORT + 5)) (3 masters, 3 replicas)" || say "redis cluster: already up on 127.0.0.1:$REDIS_CLUSTER_PORT-$((REDIS_CLUSTER_PORT + 5))"; return; }
    sleep 0.1
  done
  die "the Redis Cluster on 127.0.0.1:$REDIS_CLUSTER_PORT did not reach cluster_state:ok (see $REDIS_CLUSTER_DIR/*/redis.log)"
}

redis_cluster_down() {
  local port dir stopped=0
  for port in $(redis_cluster_ports); do
    dir="$REDIS_CLUSTER_DIR/$port"
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
      redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$dir/redis.pid")"
      stopped=1
    fi
    rm -f "$dir/redis.pid"
  done
  [ "$stopped" = 1 ] && say "redis cluster: stopped" || say "redis cluster: not running"
}

redis_cluster_status() {
  if redis_cluster_ok; then say "redis cluster: up on 127.0.0.1:$REDIS_CLUSTER_PORT-$((REDIS_CLUSTER_PORT + 5))"; else say "redis cluster: down"; return 1; fi
}

# ---------------------------------------------------------------- HAProxy (--cluster)
# The load balancer in front of the gateways; the stack that runs the gateways writes its
# configuration and runs it (libs/harness/src/load-balancer.ts), as it does the gateways.
haproxy_installed() {
  command -v haproxy >/dev/null 2>&1 && { say "haproxy: $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}') installed"; return; }
  apt_install haproxy || die "haproxy not found and cannot be installed here: install Debian's haproxy (apt-get install haproxy)"
  say "haproxy: installed"
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
  {
    cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
log.dirs=$KAFKA_DIR/data
PROPS
    cat "$ROOT/infra/kafka/broker.properties"
  } >"$KAFKA_DIR/server.properties"
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

kafka_launch() { # kafka_launch DIR HEAP: the broker of DIR/server.properties, its pid in DIR/kafka.pid
  # setsid: the broker outlives this script and the npm process that ran it.
  # shellcheck disable=SC2086
  setsid nohup java $2 $KAFKA_JVM \
    -Dkafka.logs.dir="$1/logs" -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
    -cp "$KAFKA_DIR/libs/*" kafka.Kafka "$1/server.properties" \
    >"$1/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$1/kafka.pid"
}

kafka_up() {
  # The jars also run the fault tier's own brokers (libs/harness/src/infra-processes.ts), whichever broker serves 9092.
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
    kafka_launch "$KAFKA_DIR" "$KAFKA_HEAP"
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

# ---------------------------------------------------------------- Kafka, three brokers (--cluster)
# Three brokers and, apart from them, a KRaft quorum of three controllers (infra/kafka/cluster.properties
# says why), the mesh's topics replicated three times and min.insync.replicas=2: with acks=all, a write
# the producer was told succeeded is on two brokers, so killing any one broker loses nothing.
KAFKA_CLUSTER_DIR="$CACHE/kafka-cluster"
KAFKA_CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-9192}"
KAFKA_CLUSTER_CONTROLLER_PORT="${KAFKA_CLUSTER_CONTROLLER_PORT:-9292}"
KAFKA_CLUSTER_HEAP="${KAFKA_CLUSTER_HEAP:--Xms256m -Xmx512m}"
KAFKA_CLUSTER_CONTROLLER_HEAP="${KAFKA_CLUSTER_CONTROLLER_HEAP:--Xms128m -Xmx256m}"

# Controllers first: the brokers register with them. Brokers are node ids 1-3, controllers 101-103.
kafka_cluster_nodes() { echo controller-1 controller-2 controller-3 broker-1 broker-2 broker-3; }
kafka_cluster_bootstrap() {
  local n list=""
  for n in 1 2 3; do list="$list${list:+,}$KAFKA_HOST:$((KAFKA_CLUSTER_PORT + n - 1))"; done
  echo "$list"
}
kafka_node_address() { # kafka_node_address NODE: where it listens
  local n="${1##*-}"
  case "$1" in
    controller-*) echo "$KAFKA_HOST:$((KAFKA_CLUSTER_CONTROLLER_PORT + n - 1))" ;;
    *) echo "$KAFKA_HOST:$((KAFKA_CLUSTER_PORT + n - 1))" ;;
  esac
}
kafka_node_pid() { [ -f "$KAFKA_CLUSTER_DIR/$1/kafka.pid" ] && kill -0 "$(cat "$KAFKA_CLUSTER_DIR/$1/kafka.pid")" 2>/dev/null && cat "$KAFKA_CLUSTER_DIR/$1/kafka.pid"; }

kafka_node_config() { # kafka_node_config NODE
  local node="$1" dir="$KAFKA_CLUSTER_DIR/$1" n="${1##*-}" voters="" v
  for v in 1 2 3; do voters="$voters${voters:+,}$((100 + v))@$(kafka_node_address "controller-$v")"; done
  mkdir -p "$dir/data" "$dir/logs"
  {
    case "$node" in
      controller-*)
        cat <<PROPS
process.roles=controller
node.id=$((100 + n))
listeners=CONTROLLER://$(kafka_node_address "$node")
PROPS
        ;;
      *)
        cat <<PROPS
process.roles=broker
node.id=$n
listeners=PLAINTEXT://$(kafka_node_address "$node")
advertised.listeners=PLAINTEXT://$(kafka_node_address "$node")
PROPS
        ;;
    esac
    echo "controller.quorum.voters=$voters"
    echo "log.dirs=$dir/data"
    cat "$ROOT/infra/kafka/broker.properties" "$ROOT/infra/kafka/cluster.properties"
  } >"$dir/server.properties"
}

kafka_cluster_up() {
  kafka_libs
  kafka_config # writes the log4j settings every node uses
  local node dir heap cluster_id=""
  if [ -d "$KAFKA_CLUSTER_DIR/1" ]; then
    # Before the controllers had nodes of their own, three nodes were both; their storage does not carry over.
    say "kafka cluster: replacing the three combined nodes of an older checkout"
    for node in 1 2 3; do pid="$(kafka_node_pid "$node" || true)"; [ -n "$pid" ] && kill -KILL "$pid"; done
    rm -rf "$KAFKA_CLUSTER_DIR"
  fi
  [ -f "$KAFKA_CLUSTER_DIR/cluster.id" ] && cluster_id="$(cat "$KAFKA_CLUSTER_DIR/cluster.id")"
  if [ -z "$cluster_id" ]; then
    mkdir -p "$KAFKA_CLUSTER_DIR"
    cluster_id="$(KAFKA_HEAP="-Xmx128m" kafka_java kafka.tools.StorageTool random-uuid)"
    echo "$cluster_id" >"$KAFKA_CLUSTER_DIR/cluster.id"
  fi
  for node in $(kafka_cluster_nodes); do
    dir="$KAFKA_CLUSTER_DIR/$node"
    if [ -n "$(kafka_node_pid "$node" || true)" ]; then continue; fi
    kafka_node_config "$node"
    if [ ! -f "$dir/data/meta.properties" ]; then
      KAFKA_HEAP="-Xmx256m" kafka_java kafka.tools.StorageTool format -t "$cluster_id" \
        -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 ||
        die "kafka cluster: formatting $node failed (see $dir/logs/format.log)"
    fi
    heap="$KAFKA_CLUSTER_HEAP"
    case "$node" in controller-*) heap="$KAFKA_CLUSTER_CONTROLLER_HEAP" ;; esac
    kafka_launch "$dir" "$heap"
    say "kafka cluster: $node starting (pid $(cat "$dir/kafka.pid"), $(kafka_node_address "$node"))"
  done
  node "$ROOT/infra/scripts/kafka-topics.mjs" --bootstrap "$(kafka_cluster_bootstrap)" --replication 3 --wait 120 ||
    die "the three-broker Kafka did not answer on $(kafka_cluster_bootstrap) (see $KAFKA_CLUSTER_DIR/*/logs/)"
}

kafka_cluster_down() {
  local role node pid stopped=0
  # Brokers first, while the controllers are there to take their shutdown; then the controllers.
  for role in broker controller; do
    for node in $(kafka_cluster_nodes); do
      [ "${node%-*}" = "$role" ] || continue
      pid="$(kafka_node_pid "$node" || true)"
      [ -z "$pid" ] && continue
      kill -TERM "$pid" 2>/dev/null || true
      stopped=1
    done
    for node in $(kafka_cluster_nodes); do
      [ "${node%-*}" = "$role" ] || continue
      pid="$(kafka_node_pid "$node" || true)"
      [ -z "$pid" ] && continue
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$KAFKA_CLUSTER_DIR/$node/kafka.pid"
    done
  done
  [ "$stopped" = 1 ] && say "kafka cluster: stopped" || say "kafka cluster: not running"
}

kafka_cluster_status() {
  local node address rc=0
  for node in $(kafka_cluster_nodes); do
    address="$(kafka_node_address "$node")"
    if port_open "${address%:*}" "${address##*:}"; then say "kafka cluster: $node up on $address"; else say "kafka cluster: $node down"; rc=1; fi
  done
  return $rc
}

kafka_status() {
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then say "kafka: up on $KAFKA_HOST:$KAFKA_PORT"; else say "kafka: down"; return 1; fi
}

CLUSTER=0
[ "${2:-}" = "--cluster" ] && CLUSTER=1

case "${1:-}" in
  up)
    need node "Node.js 20+"
    tools_up
    redis_up
    redis_cluster_up
    postgres_up
    objects_up
    kafka_up
    if [ "$CLUSTER" = 1 ]; then
      kafka_cluster_up
      haproxy_installed
    fi
    ;;
  down)
    kafka_cluster_down
    kafka_down
    objects_down
    postgres_down
    redis_cluster_down
    redis_down
    ;;
  status)
    rc=0
    kafka_status || rc=1
    if [ "$CLUSTER" = 1 ]; then kafka_cluster_status || rc=1; fi
    redis_status || rc=1
    redis_cluster_status || rc=1
    postgres_status || rc=1
    objects_status || rc=1
    exit $rc
    ;;
  *)
    echo "usage: $0 up|down|status [--cluster]" >&2
    exit 2
    ;;
esac
