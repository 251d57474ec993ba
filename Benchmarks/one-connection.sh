#!/usr/bin/env bash
# Where one webhook request's time goes: one connection, requests back to back (wrk -c1),
# so nothing is batched or overlapped. For each kind of request: latency, CPU of the
# server per request (utime + stime of every thread) and thread switches per request
# (voluntary + involuntary context switches summed over the server's threads).
#   refused     a command the parser refuses (bad version): verify, decode, parse, answer
#   duplicate   a request already recorded (Slack's retry): + one write transaction that changes nothing
#   new, held   a new job queued behind a busy release, Slack answering posts with 429
#   new         the same with its first post going out
#   bare        the bare Hummingbird + GRDB route (HMAC + one insert, synchronous=FULL)
# Usage: bash Benchmarks/one-connection.sh [seconds=4]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=/opt/swift/usr/bin:$PATH
seconds=${1:-4}
support=$root/Benchmarks/support
secret=bench-secret
fake=18100
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
swift build -c release --product coxswain 2>&1 | grep -E "error" >&2 || true
swift build -c release --product bare-webhook 2>&1 | grep -E "error" >&2 || true
bin=$(swift build -c release --show-bin-path)
python3 "$support/make_standins.py" "$work/tools" llama-2-7b-bench bench >/dev/null
python3 "$support/fakes.py" $fake & pids+=($!); disown $!
wait_http() { for _ in $(seq 200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0; sleep 0.05; done; exit 1; }
wait_http "http://127.0.0.1:$fake/stats"
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/"$1"/stat; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'; }
sign() { python3 "$support/sign.py" $secret 100000 "$1" "$2" "http://127.0.0.1:$fake" "${3:-1}" > "$work/requests.txt"; }
send() { WEBHOOK_REQUESTS="$work/requests.txt" WEBHOOK_THREADS=1 wrk -t1 -c1 -d"${seconds}s" -s "$support/signed.lua" "$1"; }
hz=$(getconf CLK_TCK)

measure() {   # $1 label, $2 url, $3 pid
  local c0 s0 out c1 s1
  c0=$(ticks "$3"); s0=$(switches "$3")
  out=$(send "$2")
  sent=$(awk '/ requests in / { print $1 }' <<< "$out")
  c1=$(ticks "$3"); s1=$(switches "$3")
  awk -v name="$1" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v hz="$hz" '
    /^ +Latency/ { latency = $2 } / requests in / { n = $1 }
    END { printf "%-11s latency %8s (mean)  CPU %.3f ms/request  %5.1f thread switches/request\n", name, latency, 1000 * c / hz / n, s / n }' <<< "$out"
}

cat > "$work/c.yaml" <<YAML
server: { host: 127.0.0.1, port: 18170, operator_port: 18171 }
database: $work/jobs.sqlite
commands: $root/commands
slack: { api_url: "http://127.0.0.1:$fake/api", audit_channel: C0AUDIT, response_url_hosts: [127.0.0.1] }
cluster: { helm: $work/tools/helm, kubectl: $work/tools/kubectl }
environments: { bench: { namespace: bench } }
releases:
  llama-2-7b-bench:
    { model: llama-2-7b, environment: bench, endpoint: "http://127.0.0.1:$fake/model", chart: "oci://example.com/charts/vllm-deployment" }
roles: { deployer: { grants: [rollback, upgrade], environments: [bench] } }
members: { U0123ALICE: [deployer] }
YAML
SLACK_SIGNING_SECRET=$secret SLACK_BOT_TOKEN=xoxb-bench "$bin/coxswain" serve --config "$work/c.yaml" --log-level error & server=$!; pids+=($server); disown $server
wait_http "http://127.0.0.1:18170/healthz"
url=http://127.0.0.1:18170/slack/commands
# Hold the release busy (a rollback whose helm never returns): every /upgrade queues.
touch "$work/tools/hang"
python3 "$support/sign.py" $secret 1 /rollback llama-2-7b-bench "http://127.0.0.1:$fake" 900000 > "$work/hold.txt"
IFS=$'\t' read -r ts sig body < "$work/hold.txt"
curl -fs -o /dev/null "$url" -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" --data "$body"

echo "== one connection, requests back to back, $seconds s each"
sign /upgrade "llama-2-7b-bench not-a-version-{n}"
measure refused "$url" $server
curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=3600"
sign /upgrade "llama-2-7b-bench 0.4.{n}"
measure "new, held" "$url" $server
head -n "$sent" "$work/requests.txt" > "$work/recorded.txt" && mv "$work/recorded.txt" "$work/requests.txt"
measure duplicate "$url" $server   # the same requests again (wrk stops when they run out)
curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=0"
sign /upgrade "llama-2-7b-bench 0.5.{n}" 200001
measure new "$url" $server
SLACK_SIGNING_SECRET=$secret "$bin/bare-webhook" 18130 "$work/bare.sqlite" >/dev/null 2>&1 & bare=$!; pids+=($bare); disown $bare
wait_http http://127.0.0.1:18130/slack/commands
sign /upgrade "llama-2-7b-bench 0.6.{n}"
measure bare http://127.0.0.1:18130/slack/commands $bare
