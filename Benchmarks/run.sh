#!/usr/bin/env bash
# Coxswain's performance, side by side with the references it is held to (issue 13), all
# in one run on this machine: release builds, loopback, a live local Slack/model fake.
#   coxswain      `coxswain serve`: /upgrade requests queued behind a release held busy,
#                 so each request is what the webhook does plus its first post to Slack
#   coxswain-held the same with Slack answering chat.postMessage with 429 (Retry-After): the
#                 posts wait in the outbox, so this is the webhook alone
#   bare          a bare Hummingbird route: verify HMAC + one GRDB insert, synchronous=FULL
#   slack-bolt    slack-bolt on gunicorn (2 workers), process_before_response, SQLite FULL
# Figures: throughput (wrk, closed loop, distinct requests per thread), latency at a fixed
# rate (open loop, from each request's scheduled send time), CPU per request, idle CPU,
# RSS idle / with 1,000 queued jobs / every STEP jobs run, and the time a rollback takes
# against a shell script making the same helm/kubectl/HTTP calls with the same stand-ins.
# Usage: bash Benchmarks/run.sh [seconds=10] [rate=500] [jobs=1000]
#   BENCH_PHASES="idle deployed coxswain coxswain-held bare slack-bolt jobs" (the default) picks parts
#   (deployed: idle and memory of the shipped binary, deploy/build-release.sh);
#   BENCH_ROUNDS=N (3) how many times the webhook contenders take turns; BENCH_BASELINE=BINARY adds a row for another coxswain build measured the same way (before/after a change; with BENCH_BASELINE_HELD=1 beside coxswain-held);
#   BENCH_PROFILE=FILE records a perf profile of each coxswain fixed-rate run (the last one stays), BENCH_PROFILE_SATURATED=FILE of the whole machine under wrk (coxswain-held), BENCH_PROFILE_JOBS=FILE of its jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=/opt/swift/usr/bin:$PATH
seconds=${1:-10}
rate=${2:-500}
jobs=${3:-1000}
support=$root/Benchmarks/support

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
python3 -c "import slack_bolt, gunicorn" 2>/dev/null || pip install -q slack-bolt gunicorn 2>/dev/null \
  || pip install -q --break-system-packages slack-bolt gunicorn

extra_env=()   # variables for the next coxswain started (BENCH_VARIANTS)
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
secret=bench-secret
fake=18100

echo "building release binaries..." >&2
swift build -c release --product coxswain 2>&1 | grep -E "error|Compiling|Build" >&2 || true
swift build -c release --product bare-webhook 2>&1 | grep -E "error|Build" >&2 || true
bin=$(swift build -c release --show-bin-path)

python3 "$support/make_standins.py" "$work/tools" llama-2-7b-bench bench
python3 "$support/fakes.py" $fake & fakepid=$!; pids+=($fakepid); disown $fakepid

wait_http() {   # any HTTP answer will do
  for _ in $(seq 200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0; sleep 0.05; done
  echo "$1 did not answer" >&2; exit 1
}
# CPU ticks of processes (utime + stime of /proc/PID/stat: every thread, also those that ended).
ticks() { cat $(for p in "$@"; do echo /proc/"$p"/stat; done) 2>/dev/null | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'; }
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' /proc/"$1"/status; }
rss_parts() {   # RSS = the process's own memory (anonymous) + pages of its binary and shared libraries (file)
  awk '/^RssAnon/ { a = $2 } /^RssFile/ { f = $2 } END { printf "anonymous %.1f MB, binary and libraries %.1f MB", a / 1024, f / 1024 }' /proc/"$1"/status
}
posts() { curl -fs "http://127.0.0.1:$fake/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("/api/chat.postMessage", 0))'; }
hz=$(getconf CLK_TCK)
phase() { [[ " ${BENCH_PHASES:-idle deployed coxswain coxswain-held bare slack-bolt jobs} " == *" $1 "* ]]; }
wait_http "http://127.0.0.1:$fake/stats"

coxswain_config() {   # $1 port, $2 database
  cat <<YAML
server: { host: 127.0.0.1, port: $1, operator_port: $(($1 + 1)) }
database: $2
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
}
start_coxswain() {   # $1 port, $2 name, [$3 binary]; sets $server
  coxswain_config "$1" "$work/$2.sqlite" > "$work/$2.yaml"
  env "${extra_env[@]}" SLACK_SIGNING_SECRET=$secret SLACK_BOT_TOKEN=xoxb-bench "${3:-$bin/coxswain}" serve --config "$work/$2.yaml" --log-level error &
  server=$!; pids+=($server); disown $server
  wait_http "http://127.0.0.1:$1/healthz"
}
sign() {   # $1 count, $2 command, $3 text template, $4 first number
  python3 "$support/sign.py" $secret "$1" "$2" "$3" "http://127.0.0.1:$fake" "${4:-1}"
}
# Holds llama-2-7b-bench busy: a rollback whose `helm rollback` never returns.
hold_release() {   # $1 port, $2 database
  # Held once the stand-in helm was asked to roll back (it touches tools/held): a step before it
  # that failed would leave the release free, and every queued upgrade would run meanwhile.
  touch "$work/tools/hang"; rm -f "$work/tools/held"
  sign 1 /rollback "llama-2-7b-bench" 900000 > "$work/hold.txt"
  IFS=$'\t' read -r ts sig body < "$work/hold.txt"
  curl -fs -o /dev/null "http://127.0.0.1:$1/slack/commands" -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" --data "$body"
  for _ in $(seq 400); do [ -e "$work/tools/held" ] && return 0; sleep 0.05; done
  echo "the release was not held: $(python3 -c "import sqlite3; print(sqlite3.connect('file:$2?mode=ro', uri=True).execute('SELECT outcome FROM job ORDER BY id').fetchone())")" >&2
  exit 1
}
still_held() {   # $1 database: nothing but the hold left the queue while it was measured
  local ran; ran=$(python3 -c "import sqlite3; print(sqlite3.connect('file:$1?mode=ro', uri=True).execute(\"SELECT COUNT(*) FROM job WHERE state <> 'queued'\").fetchone()[0])")
  [ "$ran" = 1 ] || { echo "the release was not held throughout: $ran jobs left the queue" >&2; exit 1; }
}
# Contenders whose first post to Slack belongs to each request: coxswain, the baseline, variants not held.
waits_for_posts() { case "$1" in coxswain | baseline) return 0 ;; coxswain-held | bare | slack-bolt | *-held) return 1 ;; *) return 0 ;; esac; }
# Throughput and fixed-rate latency of one contender: $1 name, $2 url, $3 label of the first request number, pids to charge for CPU.
measure() {
  local name=$1 url=$2 first=$3; shift 3
  sign 200000 /upgrade "llama-2-7b-bench 0.4.{n}" "$first" > "$work/closed.txt"
  local out before
  before=$(posts)
  # BENCH_PROFILE_SATURATED=FILE: a whole-machine perf profile while wrk saturates coxswain-held (perf report -i FILE --sort comm,dso).
  if [ -n "${BENCH_PROFILE_SATURATED:-}" ] && [ "$name" = coxswain-held ]; then
    perf record -q -a -F 499 -g -o "$BENCH_PROFILE_SATURATED" -- sleep "$seconds" 2>/dev/null &
  fi
  out=$(WEBHOOK_REQUESTS="$work/closed.txt" WEBHOOK_THREADS=2 wrk -t2 -c16 -d"${seconds}s" -s "$support/signed.lua" "$url")
  local throughput errors
  throughput=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<< "$out")
  errors=$(awk '/^wrk: requests/ { print $5 }' <<< "$out")
  if waits_for_posts "$name"; then   # the first posts of those requests go out before the next figure is taken
    local sent; sent=$(awk '/^wrk: requests/ { print $3 }' <<< "$out")
    for _ in $(seq 1200); do [ $(( $(posts) - before )) -ge "$sent" ] && break; sleep 0.1; done
  fi
  # Trigger ids apart from wrk's (first to first+199999): one seen before is a retry, answered
  # from the record (until 2026-12-05 they overlapped, and the fixed-rate figures were retries).
  sign $((rate * seconds)) /upgrade "llama-2-7b-bench 0.5.{n}" $((first + 500000)) > "$work/open.txt"
  local posts0 cpu0 cpu1 line
  posts0=$(posts); cpu0=$(ticks "$@"); fake0=$(ticks $fakepid)
  # BENCH_PROFILE=FILE: a perf profile of coxswain during the fixed-rate run (perf report -i FILE).
  if [ -n "${BENCH_PROFILE:-}" ] && [[ "$name" == coxswain* ]]; then
    perf record -q -F 499 -g -p "$1" -o "$BENCH_PROFILE" -- sleep "$seconds" 2>/dev/null &
  fi
  line=$(python3 "$support/openloop.py" "$url" "$work/open.txt" "$rate" "$seconds" 64)
  if waits_for_posts "$name"; then   # its first post to Slack belongs to the request
    local answered; answered=$(awk '{ print $4 }' <<< "$line")
    for _ in $(seq 600); do [ $(( $(posts) - posts0 )) -ge "$answered" ] && break; sleep 0.1; done
  fi
  cpu1=$(ticks "$@"); fake1=$(ticks $fakepid)
  awk -v n="$name" -v tp="$throughput" -v e="$errors" -v l="$line" -v c=$((cpu1 - cpu0)) -v hz="$hz" 'BEGIN {
    split(l, f, " "); answered = f[4]
    printf "%-14s %9s req/s  (%s errors)   at %s/s: p50 %6.2f ms  p99 %7.2f ms  max %7.2f ms  non-200 %s   CPU %.2f ms/request\n",
      n, tp, e, f[8], f[10], f[14], f[16], f[6], 1000 * c / hz / answered
  }' | tee -a "$work/results.txt"
  # On a real deployment Slack is elsewhere; here its fake shares the two cores.
  awk -v c=$((fake1 - fake0)) -v hz="$hz" -v l="$line" 'BEGIN { split(l, f, " ")
    printf "%14s (the Slack/model fake on the same cores meanwhile: %.2f ms CPU per request)\n", "", 1000 * c / hz / f[4] }' | tee -a "$work/results.txt"
}

# Idle CPU, RSS idle and with 1,000 queued jobs of one binary: $1 label, $2 binary, $3 port.
idle_and_memory() {
  local label=$1 binary=$2 port=$3
  echo "== idle and memory ($label)" | tee -a "$work/results.txt"
  coxswain_config "$port" "$work/idle-$port.sqlite" > "$work/idle-$port.yaml"
  SLACK_SIGNING_SECRET=$secret SLACK_BOT_TOKEN=xoxb-bench "$binary" serve --config "$work/idle-$port.yaml" --log-level error &
  server=$!; pids+=($server); disown $server
  wait_http "http://127.0.0.1:$port/healthz"
  sleep 2   # let start-up finish before the idle window
  c0=$(ticks $server); t0=$(date +%s.%N)
  sleep 10   # the idle window itself: nothing happens, by design
  c1=$(ticks $server); t1=$(date +%s.%N)
  awk -v c=$((c1 - c0)) -v hz="$hz" -v a="$t0" -v b="$t1" -v r="$(rss_mb $server)" 'BEGIN {
    printf "idle CPU %.2f %% of a core (target < 1 %%), RSS idle %s MB (target < 40)", 100 * c / hz / (b - a), r }' | tee -a "$work/results.txt"
  echo " ($(rss_parts $server))" | tee -a "$work/results.txt"
  hold_release "$port" "$work/idle-$port.sqlite"
  sign 1000 /upgrade "llama-2-7b-bench 0.3.{n}" > "$work/queued.txt"
  posts0=$(posts)
  python3 "$support/openloop.py" "http://127.0.0.1:$port/slack/commands" "$work/queued.txt" 200 5 16 >/dev/null
  for _ in $(seq 600); do [ $(( $(posts) - posts0 )) -ge 1000 ] && break; sleep 0.1; done
  echo "RSS with 1,000 queued jobs $(rss_mb $server) MB (target < 100; $(rss_parts $server))" | tee -a "$work/results.txt"
  kill -9 $server; rm -f "$work/tools/hang"
}
if phase idle; then
  idle_and_memory "coxswain, swift build -c release" "$bin/coxswain" 18110
fi
# The binary the container image and the VM install ship (deploy/build-release.sh: the Swift
# runtime linked in, lld, packed relocations, no exported symbols, stripped); its first build
# takes 10-20 minutes.
if phase deployed; then
  echo "building the deployed form (deploy/build-release.sh)..." >&2
  deployed=$(bash deploy/build-release.sh "$work/deployed/coxswain")
  idle_and_memory "coxswain as deployed, deploy/build-release.sh" "$deployed" 18115
fi

# The contenders take turns, round after round (BENCH_ROUNDS, 3): this machine's speed drifts
# within minutes, so each is measured in every stretch and the summary takes each figure's
# median over the rounds, and each ratio's median over the ratios of one round.
rounds=${BENCH_ROUNDS:-3}
echo "== webhook: $seconds s per figure, wrk -t2 -c16, open loop at $rate/s, $rounds rounds" | tee -a "$work/results.txt"
for round in $(seq "$rounds"); do
echo "-- round $round" | tee -a "$work/results.txt"
if phase coxswain; then
start_coxswain 18120 "webhook-$round"
hold_release 18120 "$work/webhook-$round.sqlite"
measure coxswain "http://127.0.0.1:18120/slack/commands" 1 $server
still_held "$work/webhook-$round.sqlite"
kill -9 $server; rm -f "$work/tools/hang"
fi

# BENCH_BASELINE=BINARY: another coxswain (an earlier commit's release build) measured the same way, for a before/after.
# BENCH_BASELINE_HELD=1: measured with Slack's posts held, as baseline-held beside coxswain-held.
if [ -n "${BENCH_BASELINE:-}" ]; then
bname=baseline; [ -n "${BENCH_BASELINE_HELD:-}" ] && bname=baseline-held
start_coxswain 18180 "$bname-$round" "$BENCH_BASELINE"
hold_release 18180 "$work/$bname-$round.sqlite"
[[ $bname == *-held ]] && curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=3600"
measure "$bname" "http://127.0.0.1:18180/slack/commands" 1 $server
still_held "$work/$bname-$round.sqlite"
curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=0"
kill -9 $server; rm -f "$work/tools/hang"
fi

if phase coxswain-held; then
start_coxswain 18160 "held-$round"
hold_release 18160 "$work/held-$round.sqlite"
curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=3600"
measure coxswain-held "http://127.0.0.1:18160/slack/commands" 1 $server
still_held "$work/held-$round.sqlite"
curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=0"
kill -9 $server; rm -f "$work/tools/hang"
fi

# BENCH_VARIANTS="NAME=VAR=1[,VAR=1] …": coxswain again with those variables set (to turn one mechanism
# off, say); a NAME ending in -held is measured with Slack's posts held, as coxswain-held is.
for variant in ${BENCH_VARIANTS:-}; do
vname=${variant%%=*}; IFS=, read -ra extra_env <<< "${variant#*=}"
start_coxswain 18190 "$vname-$round"
hold_release 18190 "$work/$vname-$round.sqlite"
[[ $vname == *-held ]] && curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=3600"
measure "$vname" "http://127.0.0.1:18190/slack/commands" 1 $server
still_held "$work/$vname-$round.sqlite"
curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=0"
kill -9 $server; rm -f "$work/tools/hang"; extra_env=()
done

if phase bare; then
SLACK_SIGNING_SECRET=$secret "$bin/bare-webhook" 18130 "$work/bare.sqlite" & bare=$!; pids+=($bare); disown $bare
wait_http "http://127.0.0.1:18130/slack/commands"
measure bare "http://127.0.0.1:18130/slack/commands" 1 $bare
kill -9 $bare
fi

if phase slack-bolt; then
SLACK_SIGNING_SECRET=$secret BOLT_DATABASE="$work/bolt.sqlite" BOLT_SLACK_API="http://127.0.0.1:$fake/api/" gunicorn --log-level warning -w 2 -b 127.0.0.1:18140 --chdir "$support" bolt_app:app & bolt=$!; pids+=($bolt); disown $bolt
wait_http "http://127.0.0.1:18140/slack/commands"
measure slack-bolt "http://127.0.0.1:18140/slack/commands" 1 $bolt $(pgrep -P $bolt | tr '\n' ' ')
kill -9 $bolt $(pgrep -P $bolt) 2>/dev/null || true
fi
done

# Medians over the rounds; ratios per round, then their median.
awk '
  function median(list,   n, i, j, v, a) { n = split(list, a, " "); for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > v + 0; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function ratio(a, b) { return (a in tp && b in tp) ? tp[a] / tp[b] : "" }
  function add(name, value) { if (value != "") seen[name] = seen[name] " " value }
  function round_ratios() { add("bare", ratio("coxswain", "bare")); add("bolt", ratio("coxswain", "slack-bolt"))
    add("held/bare", ratio("coxswain-held", "bare")); add("held/bolt", ratio("coxswain-held", "slack-bolt"))
    add("base", ratio("coxswain", "baseline"))
    for (name in tp) if (name !~ /^(coxswain|coxswain-held|bare|slack-bolt|baseline)$/) add(name, ratio(name, name ~ /-held$/ ? "coxswain-held" : "coxswain"))
    delete tp }
  /^-- round/ { round_ratios() }
  / req\/s/ { tp[$1] = $2; all_tp[$1] = all_tp[$1] " " $2; all_p99[$1] = all_p99[$1] " " $12; all_cpu[$1] = all_cpu[$1] " " $(NF - 1) }
  END {
    round_ratios()
    if (!("coxswain" in all_tp)) exit  # the webhook phases were not run (BENCH_PHASES)
    print "medians over the rounds:"
    for (name in all_tp) printf "  %-14s %6.0f req/s   p99 %6.2f ms   CPU %.2f ms/request   (throughput by round:%s)\n", name, median(all_tp[name]), median(all_p99[name]), median(all_cpu[name]), all_tp[name]
    if (!("bare" in seen) || !("bolt" in seen)) printf "ratios: need the bare and slack-bolt phases too; "
    else printf "ratios (median of the rounds): coxswain/bare throughput %.2f (target >= 0.60), coxswain/slack-bolt %.2f (target >= 2); ", median(seen["bare"]), median(seen["bolt"])
    if (("held/bare" in seen) && ("held/bolt" in seen)) printf "the webhook alone (posts held): /bare %.2f, /slack-bolt %.2f; ", median(seen["held/bare"]), median(seen["held/bolt"])
    if ("base" in seen) printf "coxswain/baseline %.2f; ", median(seen["base"])
    printf "coxswain p99 at the fixed rate %.2f ms (target < 5), CPU %.2f ms/request (target < 1.5)\n", median(all_p99["coxswain"]), median(all_cpu["coxswain"])
    for (name in seen) if (name !~ /^(bare|bolt|held\/bare|held\/bolt|base)$/)
      printf "  variant %s: throughput %.2f of %s (median of the rounds:%s)\n", name, median(seen[name]), name ~ /-held$/ ? "coxswain-held" : "coxswain", seen[name] }
' "$work/results.txt" | tee -a "$work/results.txt"

if phase jobs; then
echo "== jobs: $jobs rollbacks one after another, instant helm/kubectl stand-ins" | tee -a "$work/results.txt"
start_coxswain 18150 jobs
touch "$work/tools/log"
echo "RSS before any job $(rss_mb $server) MB" | tee -a "$work/results.txt"
if [ -n "${BENCH_PROFILE_JOBS:-}" ]; then perf record -q -F 499 -g -p "$server" -o "$BENCH_PROFILE_JOBS" 2>/dev/null & profiler=$!; fi
python3 "$support/jobs.py" "http://127.0.0.1:18150/slack/commands" $secret "$work/jobs.sqlite" $server "$jobs" "${BENCH_RSS_EVERY:-$(( jobs < 1000 ? jobs : 1000 ))}" \
  | tee "$work/jobs.txt" | tee -a "$work/results.txt"
rm -f "$work/tools/log"
if [ -n "${BENCH_PROFILE_JOBS:-}" ]; then kill -INT $profiler; wait $profiler || true; fi
# The same calls as one job, from a shell: the stand-ins, then the model's three endpoints.
awk 'NR > 1 && /^helm history/ { exit } { print }' "$work/tools/calls.log" > "$work/one-job.txt"
{
  echo 'set -e'
  while read -r program rest; do echo "$work/tools/$program $rest >/dev/null"; done < "$work/one-job.txt"
  echo "curl -fs -o /dev/null http://127.0.0.1:$fake/model/health"
  echo "curl -fs -o /dev/null http://127.0.0.1:$fake/model/ready"
  echo "curl -fs -o /dev/null -H 'Content-Type: application/json' -d '{\"model\":\"llama-2-7b\",\"prompt\":\"Hello, how are you?\",\"max_tokens\":10}' http://127.0.0.1:$fake/model/v1/completions"
} > "$work/one-job.sh"
head -n -3 "$work/one-job.sh" > "$work/commands-only.sh"
runs=200
s0=$(date +%s%N); for _ in $(seq $runs); do bash "$work/one-job.sh"; done; s1=$(date +%s%N)
for _ in $(seq $runs); do bash "$work/commands-only.sh"; done; s2=$(date +%s%N)
awk -v ns=$((s1 - s0)) -v nc=$((s2 - s1)) -v runs=$runs -v calls="$(wc -l < "$work/one-job.txt")" '/^jobs / { median = $6 } END {
  script = ns / runs / 1e6; commands = nc / runs / 1e6
  printf "per job: coxswain %.1f ms (median, start to end), shell script with the same %d commands + 3 HTTP calls (curl) %.1f ms ", median, calls, script
  printf "(the commands alone %.1f ms): overhead %.1f ms (target < 15), ratio %.2f (target <= 1.2)\n", commands, median - script, median / script }' \
  "$work/jobs.txt" | tee -a "$work/results.txt"
fi
echo "== summary"
cat "$work/results.txt"
