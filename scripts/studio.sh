#!/usr/bin/env bash
# `make studio`: langgraph dev (offline) serving the incident graph against a simulated 20-host demo fleet.
#
# Starts the fleet in the background (var/studio-fleet), seeds two days of metrics (var/studio/metrics.db, fresh
# each start), exports the OPSWD_* settings that point the stdio tools server at them, then runs
# `langgraph dev` in the foreground on 127.0.0.1:$STUDIO_PORT. Ctrl-C stops the server and the fleet.
# Checkpoints go to OPSWD_CHECKPOINTS__URL, default sqlite:///var/studio/checkpoints.db.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-.venv/bin}
STUDIO_PORT=${STUDIO_PORT:-2025}
HOSTS=${STUDIO_HOSTS:-20}
FLEET=var/studio-fleet
STATE=var/studio

for tool in python opswatchdog langgraph; do
    if [[ ! -x $BIN/$tool ]]; then
        echo "studio: $BIN/$tool not found; run 'make venv' first" >&2
        exit 2
    fi
done
if ! "$BIN/python" -c "import socket,sys; socket.create_server(('127.0.0.1', int(sys.argv[1]))).close()" \
    "$STUDIO_PORT" 2>/dev/null; then
    echo "studio: port $STUDIO_PORT on 127.0.0.1 is taken; pick another with STUDIO_PORT=NNNN" >&2
    exit 2
fi

mkdir -p "$FLEET" "$STATE"
fleet_pid=""
cleanup() {
    if [[ -n $fleet_pid ]] && kill -0 "$fleet_pid" 2>/dev/null; then
        kill -TERM "$fleet_pid" 2>/dev/null || true
        wait "$fleet_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BIN/python" -m simfleet --hosts "$HOSTS" --scenario demo --out "$FLEET" >"$STATE/simfleet.log" 2>&1 &
fleet_pid=$!
for _ in $(seq 1 300); do
    grep -q "simfleet ready" "$STATE/simfleet.log" && break
    if ! kill -0 "$fleet_pid" 2>/dev/null; then
        echo "studio: the simulated fleet did not start:" >&2
        cat "$STATE/simfleet.log" >&2
        exit 1
    fi
    sleep 0.1
done
grep -q "simfleet ready" "$STATE/simfleet.log" || { echo "studio: the fleet is not ready after 30 s" >&2; exit 1; }
grep "simfleet ready" "$STATE/simfleet.log"

rm -f "$STATE/metrics.db"  # seeding appends: start from two clean days every time
"$BIN/opswatchdog" metrics seed --hosts "$HOSTS" --days 2 --scenario demo --store "sqlite:///$STATE/metrics.db" \
    >"$STATE/seed.json"
echo "metrics: 2 days seeded in $STATE/metrics.db"

export OPSWD_INVENTORY="$ROOT/$FLEET/inventory.yaml"
export OPSWD_SSH__KNOWN_HOSTS="$ROOT/$FLEET/known_hosts"
export OPSWD_SSH__CONNECT_TIMEOUT_S=${OPSWD_SSH__CONNECT_TIMEOUT_S:-3}
export OPSWD_METRICS__URL="sqlite:///$ROOT/$STATE/metrics.db"
export OPSWD_NOTIFY__OUTBOX_DB="$ROOT/$STATE/outbox.db"
export OPSWD_NOTIFY__OUTBOX_FILE="$ROOT/$STATE/notifications.jsonl"
export OPSWD_KNOWLEDGE__INDEX_PATH=${OPSWD_KNOWLEDGE__INDEX_PATH:-$ROOT/$STATE/knowledge-index}
export OPSWD_CHECKPOINTS__URL=${OPSWD_CHECKPOINTS__URL:-sqlite:///$STATE/checkpoints.db}
export LANGGRAPH_CLI_NO_ANALYTICS=1 LANGGRAPH_NO_VERSION_CHECK=true LANGSMITH_TRACING=false

faults=$("$BIN/python" -c "import json,sys; f=json.load(open(sys.argv[1])); \
print(', '.join(f'{h}: {\"+\".join(k)}' for h, k in sorted(f.items()) if k))" "$FLEET/faults.json")
cat <<INFO
faults: $faults
checkpoints: $(sed -E 's#//[^@/]*@#//***@#' <<<"$OPSWD_CHECKPOINTS__URL")  outbox: $STATE/notifications.jsonl
try it: POST http://127.0.0.1:$STUDIO_PORT/threads, then a run of assistant "incident" with input
  {"request": {"kind": "operator", "hosts": ["node-02"], "lang": "en"}}  (API docs: http://127.0.0.1:$STUDIO_PORT/docs)
INFO

"$BIN/langgraph" dev --no-browser --no-reload --host 127.0.0.1 --port "$STUDIO_PORT"
