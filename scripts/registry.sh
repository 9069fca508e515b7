#!/usr/bin/env bash
# A local OCI registry (Debian's docker-registry, i.e. distribution v2) standing
# in for GHCR: plain HTTP on 127.0.0.1, which the engine treats as insecure by
# default, so push/pull need no TLS setup.
#
# Usage:
#   scripts/registry.sh start  [--port PORT] [--dir DIR] [--htpasswd USER:PASS] [--timeout SECS]
#   scripts/registry.sh stop   [--port PORT] [--dir DIR] [--purge]
#   scripts/registry.sh status [--port PORT] [--dir DIR]
#
#   --port      TCP port on 127.0.0.1 (default 5000)
#   --dir       state directory: config.yml, storage/, htpasswd, registry.pid,
#               registry.log (default /tmp/buildctl-registry-PORT)
#   --htpasswd  require basic auth with this user (bcrypt htpasswd file);
#               without it the registry has no auth at all
#   --timeout   seconds to wait for /v2/ to answer (default 20)
#   --purge     on stop, also delete DIR (storage included)
#
# start is idempotent: if the instance of DIR is already running, it only
# prints its address. start prints, on stdout:
#   REGISTRY_ADDR=127.0.0.1:5000
#   REGISTRY_DIR=/tmp/buildctl-registry-5000
#   REGISTRY_PID=12345
# status exits 0 when the process is alive and /v2/ answers (200, or 401 with
# auth), 1 otherwise. stop exits 0 also when nothing was running.
# The registry runs with storage.delete.enabled, so manifests can be deleted
# (DELETE /v2/<name>/manifests/<digest>).
set -euo pipefail

die() { printf '[registry] ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf '[registry] %s\n' "$*" >&2; }

CMD="${1:-}"
[[ -n "$CMD" ]] || { sed -n '2,28p' "$0" >&2; exit 2; }
shift
PORT=5000
DIR=""
HTPASSWD=""
TIMEOUT=20
PURGE=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --port) PORT="${2:?--port needs a value}"; shift 2 ;;
        --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
        --htpasswd) HTPASSWD="${2:?--htpasswd needs USER:PASS}"; shift 2 ;;
        --timeout) TIMEOUT="${2:?--timeout needs a value}"; shift 2 ;;
        --purge) PURGE=1; shift ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$PORT" =~ ^[0-9]+$ && "$PORT" -gt 0 && "$PORT" -lt 65536 ]] || die "bad --port: $PORT"
DIR="${DIR:-/tmp/buildctl-registry-$PORT}"
PIDFILE="$DIR/registry.pid"
ADDR="127.0.0.1:$PORT"

pid_alive() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# HTTP status of GET /v2/ ("000" when nothing answers).
v2_code() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$ADDR/v2/" 2>/dev/null || true
}

answers() {
    local code
    code="$(v2_code)"
    [[ "$code" == 200 || "$code" == 401 ]]
}

print_info() {
    echo "REGISTRY_ADDR=$ADDR"
    echo "REGISTRY_DIR=$DIR"
    echo "REGISTRY_PID=$(cat "$PIDFILE")"
}

ensure_packages() {
    local missing=()
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    if [[ -n "$HTPASSWD" ]] && ! command -v htpasswd >/dev/null; then missing+=(apache2-utils); fi
    command -v curl >/dev/null || missing+=(curl)
    [[ ${#missing[@]} == 0 ]] && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get"
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
    # The package's postinst may try to start its own service; this script never
    # relies on it (no systemd here anyway).
}

do_start() {
    if pid_alive; then
        answers || die "registry pid $(cat "$PIDFILE") of $DIR is alive but $ADDR/v2/ does not answer"
        log "already running on $ADDR"
        print_info
        return 0
    fi
    ensure_packages
    local code
    code="$(v2_code)"
    [[ "$code" == 000 ]] || die "something else already answers on $ADDR (HTTP $code)"

    mkdir -p "$DIR/storage"
    local auth=""
    if [[ -n "$HTPASSWD" ]]; then
        [[ "$HTPASSWD" == *:* ]] || die "--htpasswd wants USER:PASS"
        local user="${HTPASSWD%%:*}" pass="${HTPASSWD#*:}"
        [[ -n "$user" && -n "$pass" ]] || die "--htpasswd wants a non-empty USER and PASS"
        htpasswd -Bbn "$user" "$pass" >"$DIR/htpasswd" 2>/dev/null || die "htpasswd failed"
        auth="auth:
  htpasswd:
    realm: buildctl-registry
    path: $DIR/htpasswd"
    else
        rm -f "$DIR/htpasswd"
    fi
    local secret
    secret="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    cat >"$DIR/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $DIR/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $ADDR
  secret: $secret
  headers:
    X-Content-Type-Options: [nosniff]
$auth
EOF
    log "starting docker-registry on $ADDR (dir $DIR${HTPASSWD:+, htpasswd auth})"
    nohup docker-registry serve "$DIR/config.yml" >"$DIR/registry.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$PIDFILE"
    local deadline=$((SECONDS + TIMEOUT))
    until answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$DIR/registry.log" >&2 || true
            rm -f "$PIDFILE"
            die "docker-registry exited during start-up (log: $DIR/registry.log)"
        fi
        if [[ $SECONDS -ge $deadline ]]; then
            kill "$pid" 2>/dev/null || true
            rm -f "$PIDFILE"
            tail -n 20 "$DIR/registry.log" >&2 || true
            die "$ADDR/v2/ did not answer within ${TIMEOUT}s"
        fi
        sleep 0.2
    done
    print_info
}

do_stop() {
    if pid_alive; then
        local pid
        pid="$(cat "$PIDFILE")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid did not stop on TERM, sending KILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
        log "stopped pid $pid ($ADDR)"
    else
        log "not running ($DIR)"
    fi
    rm -f "$PIDFILE"
    if [[ $PURGE == 1 && -d "$DIR" ]]; then
        rm -rf --one-file-system "$DIR"
        log "removed $DIR"
    fi
}

do_status() {
    if pid_alive && answers; then
        print_info
        return 0
    fi
    log "not running ($ADDR, dir $DIR)"
    return 1
}

case "$CMD" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) die "unknown command '$CMD' (start|stop|status)" ;;
esac
