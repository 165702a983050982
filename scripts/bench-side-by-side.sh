#!/usr/bin/env bash
# bench-side-by-side.sh BACKEND   (BACKEND: sqlite | postgres)
#
# Measures connectd against the baseline server of ../shared/perf on the same
# backend, alternately in one run, and writes the tables and JSON to a
# results directory:
#   sqlite:   connectd on a temp SQLite file (WAL, synchronous=FULL) vs the
#             baseline's sqlite mode (-sync FULL)
#   postgres: connectd on a fresh database in the baseline's own temporary
#             PostgreSQL cluster (same server, same settings) vs the
#             baseline's postgres mode
# Then a 64-connection create run on connectd alone for its peak RSS.
#
# Everything listens on 127.0.0.1 only and is stopped on exit (traps).
# Environment (defaults):
#   ROUNDS=3 DURATION=10s WARMUP=2s CONNS=32 MEM_CONNS=64 SCENARIOS=all
#   PG_PARAMS=pool_max_conns=4   (postgres: extra parameters for connectd's database URL)
#   REQUESTS=1000000     per-run bound on operations (with DURATION)
#   SEED=400000          sessions the baseline seeds for get/entry
#   ENTRY_POOL=10000     sessions connectd-bench creates on connectd for entry
#   COMMIT=HEAD          connectd is built from this commit (git archive), so
#                        the figures belong to one commit; BUILD_FROM=worktree
#                        builds the working tree instead
#   RESULTS_DIR=/tmp/connectd-bench-results/BACKEND-YYYYmmdd-HHMMSS
#   PERF_DIR=../shared/perf  (relative to the repository)
#   PGPORT               port of the baseline's temp PostgreSQL (default: a free one from 55432)
#   MAX_SECONDS=1800     hard time limit of the whole script
set -euo pipefail

BACKEND=${1:?usage: scripts/bench-side-by-side.sh sqlite|postgres}
case "$BACKEND" in sqlite|postgres) ;; *) echo "BACKEND must be sqlite or postgres" >&2; exit 2 ;; esac

REPO=$(cd "$(dirname "$0")/.." && pwd)
PERF_DIR=${PERF_DIR:-$REPO/../shared/perf}
PERF_DIR=$(cd "$PERF_DIR" && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-32}
MEM_CONNS=${MEM_CONNS:-64}
REQUESTS=${REQUESTS:-1000000}
SEED=${SEED:-400000}
ENTRY_POOL=${ENTRY_POOL:-10000}
SCENARIOS=${SCENARIOS:-all}
COMMIT=${COMMIT:-HEAD}
BUILD_FROM=${BUILD_FROM:-commit}
MAX_SECONDS=${MAX_SECONDS:-1800}
RESULTS_DIR=${RESULTS_DIR:-/tmp/connectd-bench-results/$BACKEND-$(date -u +%Y%m%d-%H%M%S)}

TMP=$(mktemp -d /tmp/connectd-bench.XXXXXX)
BPID="" CPID="" WATCHDOG=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$CPID" ] && kill -0 "$CPID" 2>/dev/null; then kill -TERM "$CPID" 2>/dev/null || true; wait "$CPID" 2>/dev/null || true; fi
  # run-baseline.sh stops its server and deletes its temp database/cluster on TERM.
  if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then kill -TERM "$BPID" 2>/dev/null || true; wait "$BPID" 2>/dev/null || true; fi
  if [ -n "$WATCHDOG" ]; then kill "$WATCHDOG" 2>/dev/null || true; fi
  [ -d "$RESULTS_DIR" ] && cp "$TMP/baseline.log" "$RESULTS_DIR/baseline.log" 2>/dev/null || true
  if [ -f "$TMP/connectd.log" ] && [ -d "$RESULTS_DIR" ]; then
    # Keep connectd's non-INFO lines (warnings, errors); the per-request INFO lines are dropped.
    grep -v '"level":"INFO"' "$TMP/connectd.log" >"$RESULTS_DIR/connectd-warnings.log" 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
( sleep "$MAX_SECONDS" & s=$!; trap 'kill $s 2>/dev/null; exit 0' TERM; wait $s
  echo "bench-side-by-side: over ${MAX_SECONDS}s, stopping" >&2; kill -TERM $$ ) 2>/dev/null &
WATCHDOG=$!

free_port() { # first port from $1 on which nothing listens on 127.0.0.1
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

mkdir -p "$RESULTS_DIR"
echo "results: $RESULTS_DIR"

# --- build ---
mkdir -p "$TMP/bin"
if [ "$BUILD_FROM" = worktree ]; then
  MEASURED="$(git -C "$REPO" rev-parse HEAD) + working tree$(git -C "$REPO" diff --quiet HEAD -- . 2>/dev/null || echo ' (with uncommitted changes)')"
  (cd "$REPO" && go build -o "$TMP/bin/connectd" ./cmd/connectd)
else
  MEASURED=$(git -C "$REPO" rev-parse "$COMMIT")
  mkdir -p "$TMP/src"
  git -C "$REPO" archive "$MEASURED" | tar -x -C "$TMP/src"
  (cd "$TMP/src" && go build -o "$TMP/bin/connectd" ./cmd/connectd)
fi
# The load tool has no dependency on the rest of the module: build it from here.
(cd "$REPO" && go build -o "$TMP/bin/connectd-bench" ./cmd/connectd-bench)

# --- machine ---
{
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "connectd:  $MEASURED"
  echo "backend:   $BACKEND"
  echo "nproc:     $(nproc)"
  echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "go:        $(go version)"
  if [ "$BACKEND" = postgres ]; then
    echo "postgres:  $( (command -v postgres >/dev/null && postgres --version) || /usr/lib/postgresql/15/bin/postgres --version 2>/dev/null || echo unknown)"
  fi
  echo "settings:  ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS MEM_CONNS=$MEM_CONNS SEED=$SEED ENTRY_POOL=$ENTRY_POOL"
  echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (before)"
} | tee "$RESULTS_DIR/machine.txt"

# --- baseline ---
BPORT=$(free_port 18080)
MODE=$BACKEND
if [ "$BACKEND" = postgres ]; then
  export PGPORT=${PGPORT:-$(free_port 55432)}
fi
start_baseline() { # a slow machine can miss pg_ctl's start timeout: one retry
  SEED=$SEED PIDFILE="$TMP/baseline.pid" BIN="$TMP/bin/baseline" "$PERF_DIR/run-baseline.sh" "$MODE" "$BPORT" >"$TMP/baseline.log" 2>&1 &
  BPID=$!
  for _ in $(seq 1 900); do
    grep -q '^READY' "$TMP/baseline.log" 2>/dev/null && return 0
    kill -0 "$BPID" 2>/dev/null || { wait "$BPID" 2>/dev/null || true; return 1; }
    sleep 0.2
  done
  return 1
}
if ! start_baseline; then
  echo "baseline failed to start, retrying once:" >&2; cat "$TMP/baseline.log" >&2
  kill -TERM "$BPID" 2>/dev/null || true; wait "$BPID" 2>/dev/null || true
  start_baseline || { echo "baseline failed:" >&2; cat "$TMP/baseline.log" >&2; exit 1; }
fi
echo "baseline: $(grep '^READY' "$TMP/baseline.log")"

# --- connectd ---
if [ "$BACKEND" = sqlite ]; then
  DB="sqlite:$TMP/connectd.db"
else
  psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c 'CREATE DATABASE connectd_bench' >/dev/null
  DB="postgres://postgres@127.0.0.1:$PGPORT/connectd_bench?sslmode=disable${PG_PARAMS:+&$PG_PARAMS}"
fi
CPORT=$(free_port 18180)
# The per-key API and per-address portal rate limits are turned off: all the
# load comes from one key and one address. (Variables of flags a build does
# not have are ignored.)
CONNECTD_API_RATE=0 CONNECTD_PORTAL_RATE=0 \
  "$TMP/bin/connectd" serve --demo --db "$DB" --addr "127.0.0.1:$CPORT" >"$TMP/connectd.out" 2>"$TMP/connectd.log" &
CPID=$!
KEY=""
for _ in $(seq 1 150); do
  KEY=$(awk '/API key:/ {print $3}' "$TMP/connectd.out" 2>/dev/null | tail -n1)
  [ -n "$KEY" ] && curl -fsS "http://127.0.0.1:$CPORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$CPID" 2>/dev/null || { echo "connectd failed:" >&2; cat "$TMP/connectd.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$KEY" ] || { echo "connectd printed no API key" >&2; exit 1; }
echo "connectd: pid=$CPID port=$CPORT db=${DB%%\?*}"

# --- side by side ---
ALL=(--all)
[ "$SCENARIOS" != all ] && ALL=(--scenario "$SCENARIOS")
"$TMP/bin/connectd-bench" --url "http://127.0.0.1:$CPORT" --key "$KEY" --server-pid "$CPID" \
  --baseline "http://127.0.0.1:$BPORT" --baseline-pidfile "$TMP/baseline.pid" --baseline-seed "$SEED" \
  "${ALL[@]}" --rounds "$ROUNDS" --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNS" \
  --requests "$REQUESTS" --entry-pool "$ENTRY_POOL" --label "$BACKEND; connectd $MEASURED" \
  --json "$RESULTS_DIR/side-by-side.json" 2> >(tee "$RESULTS_DIR/side-by-side.progress" >&2) | tee "$RESULTS_DIR/side-by-side.txt"

# --- memory: connectd alone, create at MEM_CONNS connections ---
"$TMP/bin/connectd-bench" --url "http://127.0.0.1:$CPORT" --key "$KEY" --server-pid "$CPID" \
  --scenario create --duration "$DURATION" --warmup "$WARMUP" --connections "$MEM_CONNS" --requests "$REQUESTS" \
  --label "$BACKEND; connectd $MEASURED; memory" --json "$RESULTS_DIR/memory.json" 2> >(tee "$RESULTS_DIR/memory.progress" >&2) | tee "$RESULTS_DIR/memory.txt"
echo "connectd lifetime VmHWM: $(awk '/VmHWM/ {print $2, $3}' "/proc/$CPID/status") (reset before each run if the kernel allowed it)" | tee -a "$RESULTS_DIR/memory.txt"

echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (after)" | tee -a "$RESULTS_DIR/machine.txt"
echo "results in $RESULTS_DIR"
