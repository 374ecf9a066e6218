#!/usr/bin/env bash
# A real S3 server for tests: a single-node Ceph cluster (one monitor, one manager, one memstore OSD) and its RADOS
# Gateway on 127.0.0.1, from Debian's Ceph 16 packages. `start` is idempotent (a running cluster is left alone) and
# ready in bounded time; `stop` ends every daemon and removes the cluster; `env` prints what tests read.
#
#   scripts/dev/s3-ceph.sh start|stop|status|env
#
# State lives under CIKU_CEPH_DIR (default /tmp/ciku-ceph): nothing is written to /etc/ceph or /var/lib/ceph, so it
# never meets a real cluster on the machine. memstore keeps objects in the OSD's memory (CIKU_CEPH_MEMSTORE_MB, 3 GiB
# by default): a test cluster, rebuilt on every start, never a place to keep data.
set -euo pipefail

DIR="${CIKU_CEPH_DIR:-/tmp/ciku-ceph}"
PORT="${CIKU_CEPH_RGW_PORT:-7480}"
MON_PORT="${CIKU_CEPH_MON_PORT:-6789}"
MEMSTORE_MB="${CIKU_CEPH_MEMSTORE_MB:-3072}"
ACCESS_KEY="${CIKU_CEPH_ACCESS_KEY:-CIKUTESTACCESSKEY000}"
SECRET_KEY="${CIKU_CEPH_SECRET_KEY:-ciku-test-secret-key-0000000000000000000}"
READY_SECONDS="${CIKU_CEPH_READY_SECONDS:-120}"
CONF="$DIR/ceph.conf"

log() { echo "s3-ceph: $*" >&2; }

need_tools() {
  local missing=()
  for t in ceph-mon ceph-osd ceph-mgr radosgw radosgw-admin ceph monmaptool ceph-authtool; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "missing ${missing[*]}: apt-get install --no-install-recommends ceph-mon ceph-osd ceph-mgr radosgw ceph-common"
    exit 2
  fi
}

rgw_answers() { curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; }

print_env() {
  echo "CIKU_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT"
  echo "CIKU_TEST_S3_ACCESS_KEY=$ACCESS_KEY"
  echo "CIKU_TEST_S3_SECRET_KEY=$SECRET_KEY"
}

stop() {
  for name in radosgw ceph-osd ceph-mgr ceph-mon; do
    if [ -f "$DIR/run/$name.pid" ]; then
      local pid
      pid="$(cat "$DIR/run/$name.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  # Daemons that lost their pid file (a killed start): found by the cluster's own config path.
  pkill -9 -f -- "-c $CONF" 2>/dev/null || true
  rm -rf "$DIR"
  log "stopped"
}

start() {
  need_tools
  if rgw_answers && [ -f "$DIR/ready" ]; then
    log "already running on 127.0.0.1:$PORT"
    print_env
    return 0
  fi
  [ -d "$DIR" ] && stop
  mkdir -p "$DIR"/{mon/a,osd/0,mgr/x,rgw,run,log}
  local fsid
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = 127.0.0.1:$MON_PORT
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms bind ipv6 = false
ms bind msgr2 = false
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$type.pid
admin socket = $DIR/run/\$name.asok
run dir = $DIR/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = memstore
memstore device bytes = $((MEMSTORE_MB * 1024 * 1024))
osd max object name len = 460
osd max object namespace len = 64
[mon.a]
mon data = $DIR/mon/a
[osd.0]
osd data = $DIR/osd/0
[mgr.x]
mgr data = $DIR/mgr/x
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
rgw dns name = 127.0.0.1
rgw thread pool size = 64
EOF
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
  ceph-mon -c "$CONF" -i a
  wait_for "the monitor" ceph -c "$CONF" --connect-timeout 5 mon stat
  ceph-mgr -c "$CONF" -i x
  local id
  id="$(ceph -c "$CONF" osd create)"
  ceph-osd -c "$CONF" -i "$id" --mkfs >/dev/null 2>&1
  ceph -c "$CONF" osd crush add "osd.$id" 1.0 host=localhost root=default >/dev/null 2>&1 ||
    { ceph -c "$CONF" osd crush add-bucket localhost host >/dev/null; ceph -c "$CONF" osd crush move localhost root=default >/dev/null; ceph -c "$CONF" osd crush add "osd.$id" 1.0 host=localhost >/dev/null; }
  ceph-osd -c "$CONF" -i "$id"
  wait_for "the OSD" sh -c "ceph -c '$CONF' osd stat | grep -q '1 up'"
  radosgw -c "$CONF" -n client.rgw.a
  wait_for "the RADOS Gateway" rgw_answers
  radosgw-admin -c "$CONF" user create --uid=ciku --display-name="ciku tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  touch "$DIR/ready"
  log "ready on 127.0.0.1:$PORT (Ceph $(ceph --version | awk '{print $3}'))"
  print_env
}

wait_for() {
  local what="$1"
  shift
  local deadline=$((SECONDS + READY_SECONDS))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "$what did not come up in ${READY_SECONDS}s; logs in $DIR/log:"
      tail -n 30 "$DIR"/log/*.log >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if rgw_answers && [ -f "$DIR/ready" ]; then echo running; else echo stopped; exit 1; fi ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 64 ;;
esac
