#!/usr/bin/env bash
# Retention, measured. A database of JOBS finished jobs (real rollbacks run through
# `coxswain serve` with instant helm/kubectl stand-ins, then copied), all 40 days old: its
# size with their messages and request keys; then `coxswain serve` starts on it and its
# RetentionService deletes them while the webhook takes RATE requests a second (open loop,
# each a new job queued behind a busy release): its latency while retention runs against the
# same load once it is done, how long retention took, and the size left (after VACUUM).
# Usage: bash Benchmarks/retention.sh [jobs=100000] [rate=200] [seconds=20]
#   BENCH_RETENTION="{ notices: forever, request_keys: forever }": the same start and load without
#   retention, the control for the latency while it runs (the script then waits for nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=/opt/swift/usr/bin:$PATH
jobs=${1:-100000}
rate=${2:-200}
seconds=${3:-20}
support=$root/Benchmarks/support
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
secret=bench-secret
fake=18200
port=18210
retention=${BENCH_RETENTION:-"{ notices: 720h, request_keys: 720h }"}

echo "building the release binary..." >&2
swift build -c release --product coxswain 2>&1 | grep -E "error|Build" >&2 || true
bin=$(swift build -c release --show-bin-path)
python3 "$support/make_standins.py" "$work/tools" llama-2-7b-bench bench
python3 "$support/fakes.py" $fake & pids+=($!)

wait_http() { for _ in $(seq 400); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0; sleep 0.05; done; echo "$1 did not answer" >&2; return 1; }
count() { python3 -c "import sqlite3; print(sqlite3.connect('file:$work/coxswain.sqlite?mode=ro', uri=True).execute(\"$1\").fetchone()[0])"; }
size_mb() {   # the database as it would be copied: VACUUM INTO a new file
  rm -f "$work/compact.sqlite"
  python3 -c "import sqlite3; sqlite3.connect('$work/coxswain.sqlite').execute(\"VACUUM INTO '$work/compact.sqlite'\")"
  awk -v b="$(stat -c %s "$work/compact.sqlite")" 'BEGIN { printf "%.1f", b / 1048576 }'
}
cat > "$work/coxswain.yaml" <<YAML
server: { host: 127.0.0.1, port: $port, operator_port: $((port + 1)) }
database: $work/coxswain.sqlite
commands: $root/commands
slack: { api_url: "http://127.0.0.1:$fake/api", audit_channel: C0AUDIT, response_url_hosts: [127.0.0.1] }
cluster: { helm: $work/tools/helm, kubectl: $work/tools/kubectl }
environments: { bench: { namespace: bench } }
releases:
  llama-2-7b-bench:
    { model: llama-2-7b, environment: bench, endpoint: "http://127.0.0.1:$fake/model", chart: "oci://example.com/charts/vllm-deployment" }
roles: { deployer: { grants: [rollback, upgrade], environments: [bench] } }
members: { U0123ALICE: [deployer] }
retention: $retention
YAML
start() {
  SLACK_SIGNING_SECRET=$secret SLACK_BOT_TOKEN=xoxb-bench "$bin/coxswain" serve --config "$work/coxswain.yaml" --log-level notice 2>> "$work/server.log" &
  server=$!; pids+=($server)
  wait_http "http://127.0.0.1:$port/healthz" || { tail -5 "$work/server.log" >&2; exit 1; }
}
wait_http "http://127.0.0.1:$fake/stats" || exit 1

start
python3 "$support/jobs.py" "http://127.0.0.1:$port/slack/commands" $secret "$work/coxswain.sqlite" $server 200 200 > /dev/null
kill $server; wait $server 2>/dev/null || true
python3 "$support/clone_jobs.py" "$work/coxswain.sqlite" "$jobs" 40
with=$(size_mb)
notices=$(count "SELECT COUNT(*) FROM notice")
echo "$jobs finished jobs, 40 days old: $with MB with $notices messages and their request keys"

# The webhook under load while retention runs (it starts with the server), then once it is done.
start
started=$(date +%s.%N)
touch "$work/tools/hang"
python3 "$support/sign.py" $secret 1 /rollback "llama-2-7b-bench" "http://127.0.0.1:$fake" 900000 > "$work/hold.txt"
IFS=$'\t' read -r ts sig body < "$work/hold.txt"
curl -fs -o /dev/null "http://127.0.0.1:$port/slack/commands" -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" --data "$body"
python3 "$support/sign.py" $secret $((rate * seconds)) /upgrade "llama-2-7b-bench 0.6.{n}" "http://127.0.0.1:$fake" 1 > "$work/during.txt"
during=$(python3 "$support/openloop.py" "http://127.0.0.1:$port/slack/commands" "$work/during.txt" "$rate" "$seconds" 64)
left=$(count "SELECT COUNT(*) FROM notice n JOIN job j ON j.id = n.jobID WHERE j.finishedAt < strftime('%Y-%m-%d %H:%M:%f', 'now', '-30 days')")
echo "while retention ran ($left of $notices old messages left at the end of the window): $during"
[ -n "${BENCH_RETENTION:-}" ] || for _ in $(seq 3600); do
  [ "$(count "SELECT COUNT(*) FROM receivedRequest WHERE receivedAt < strftime('%Y-%m-%d %H:%M:%f', 'now', '-30 days')")" = 0 ] \
    && [ "$(count "SELECT COUNT(*) FROM notice n JOIN job j ON j.id = n.jobID WHERE j.finishedAt < strftime('%Y-%m-%d %H:%M:%f', 'now', '-30 days')")" = 0 ] && break
  sleep 0.5
done
took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
# Signed now: Slack's signatures are good for five minutes.
python3 "$support/sign.py" $secret $((rate * seconds)) /upgrade "llama-2-7b-bench 0.7.{n}" "http://127.0.0.1:$fake" 1000000 > "$work/after.txt"
after=$(python3 "$support/openloop.py" "http://127.0.0.1:$port/slack/commands" "$work/after.txt" "$rate" "$seconds" 64)
echo "once it was done: $after"
kill -9 $server
grep "retention:" "$work/server.log" || true
echo "retention deleted every old message and request key within $took s of the start; the database is $(size_mb) MB after VACUUM (was $with MB)"
