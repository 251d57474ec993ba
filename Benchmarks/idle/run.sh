#!/usr/bin/env bash
# Measures what an idle `coxswain serve` costs: CPU time and wake-ups over a window with
# no traffic, from /proc (utime+stime of every thread, voluntary context switches).
# Reference: the target from issue 7, below 1 % of a core; the wake-up bug it fixed made
# the same idle server burn 100-140 % with ~3,500 SQLite lock calls a second.
# Usage: bash Benchmarks/idle/run.sh [seconds=60]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
seconds=${1:-60}

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=18090
cat > "$work/idle.yaml" <<YAML
server: { host: 127.0.0.1, port: $port, operator_port: $((port + 1)) }
database: $work/idle.sqlite
commands: $PWD/commands
slack: { api_url: "http://127.0.0.1:9/api", audit_channel: C0AUDIT }
cluster: { helm: /bin/false, kubectl: /bin/false }
environments: { production: { namespace: production } }
releases:
  llama-2-7b-production: { model: llama-2-7b, environment: production, endpoint: "http://127.0.0.1:9" }
roles:
  deployer: { grants: [rollback], environments: [production] }
  approver: { grants: [approve], environments: [production] }
members: { U0123ALICE: [deployer], U0789CAROL: [approver] }
YAML

swift build -c release --product coxswain >/dev/null
SLACK_SIGNING_SECRET=bench-secret SLACK_BOT_TOKEN=xoxb-bench .build/release/coxswain serve --config "$work/idle.yaml" --log-level error &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "coxswain serve did not start" >&2; exit 1; }

ticks() {   # CPU ticks of every thread of $1 (utime + stime, fields 14 and 15 of stat)
  cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{ sub(/^.*\) /, ""); total += $12 + $13 } END { print total + 0 }'
}
switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { total += $2 } END { print total + 0 }'
}
hz=$(getconf CLK_TCK)
cpu0=$(ticks $server); cs0=$(switches $server)
start=$(date +%s.%N)
sleep "$seconds"   # the measurement window itself: nothing happens, by design
end=$(date +%s.%N)
cpu1=$(ticks $server); cs1=$(switches $server)
awk -v c="$((cpu1 - cpu0))" -v s="$((cs1 - cs0))" -v hz="$hz" -v t0="$start" -v t1="$end" 'BEGIN {
  window = t1 - t0
  printf "idle window:                 %.1f s\n", window
  printf "coxswain serve CPU:          %.3f %% of one core (%d ticks of 1/%d s)\n", 100 * c / hz / window, c, hz
  printf "coxswain serve wake-ups:     %.1f per second (voluntary context switches, all threads)\n", s / window
  printf "reference (issue 7):         target below 1 %% of one core; 100-140 %% before the fix\n"
}'
