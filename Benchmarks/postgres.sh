#!/usr/bin/env bash
# Coxswain's webhook on PostgreSQL (issue 23), side by side with its reference, in one run:
#   coxswain       `coxswain serve` on PostgreSQL; /upgrade requests queued behind a release held
#                  busy, Slack's posts held by 429 (the webhook alone: verify, parse, authorize,
#                  the job with its audit entries and first notice in one transaction, answer)
#   coxswain-posts the same with each request's first post to Slack going out
#   bare           Benchmarks/BareWebhook on PostgreSQL: verify the HMAC, INSERT one row through
#                  postgres-nio, synchronous_commit = on
# Figures: throughput (wrk, 2 threads, 16 connections), latency at a fixed rate (open loop),
# CPU per request. Then the restart: PostgreSQL restarted (pg_ctl restart -m fast) while
# requests arrive at 100/s: every answer's status, whether it was kept or told nothing was
# done, and how soon the kept rate was back.
# One private PostgreSQL 15 (Debian's), fsync and synchronous_commit on, on a free port.
# Usage: bash Benchmarks/postgres.sh [seconds=10] [rate=200]
#   BENCH_PHASES="webhook restart" (the default) picks parts; BENCH_ROUNDS=N (3) rounds of the webhook
#   contenders; BENCH_PG_OPTIONS="-c NAME=VALUE …" more server settings (-c log_statement=all); BENCH_PROFILE=FILE a perf profile of coxswain at the fixed rate; BENCH_PROFILE_SATURATED=FILE of the whole machine under wrk;
#   BENCH_PG_STATS=FILE PostgreSQL's time by statement (pg_stat_statements) and its tables over each round's coxswain phase;
#   BENCH_RESTART_RATE (100) and BENCH_RESTART_SECONDS (30, the restart at a third of it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=/opt/swift/usr/bin:$PATH
seconds=${1:-10}
rate=${2:-200}
support=$root/Benchmarks/support
pgbin=/usr/lib/postgresql/15/bin
phase() { [[ " ${BENCH_PHASES:-webhook restart} " == *" $1 "* ]]; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -x $pgbin/postgres ] || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  runuser -u postgres -- $pgbin/pg_ctl -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
secret=bench-secret
fake=18200
password=bench-password

echo "building release binaries..." >&2
swift build -c release --product coxswain 2>&1 | grep -E "error|Build" >&2 || true
swift build -c release --product bare-webhook 2>&1 | grep -E "error|Build" >&2 || true
bin=$(swift build -c release --show-bin-path)

# PostgreSQL as a user would run it: durable commits, password authentication over TCP.
pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/pg" "$work/sock" && chown postgres "$work/pg" "$work/sock"
echo "$password" > "$work/pwfile" && chmod 644 "$work/pwfile"
runuser -u postgres -- $pgbin/initdb -D "$work/pg" -U coxswain --pwfile="$work/pwfile" --auth-host=scram-sha-256 --auth-local=trust >/dev/null
statements=${BENCH_PG_STATS:+-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on}
pg_ctl() {
  runuser -u postgres -- $pgbin/pg_ctl -D "$work/pg" -l "$work/sock/pg.log" -w \
    -o "-p $pgport -k $work/sock -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200 $statements ${BENCH_PG_OPTIONS:-}" "$@" >/dev/null
}
pg_ctl start
psql() { runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$work/sock" -p $pgport -U coxswain -Atq "$@"; }
database() { psql -d postgres -c "CREATE DATABASE $1"; echo "postgres://coxswain@127.0.0.1:$pgport/$1?sslmode=disable"; }

python3 "$support/make_standins.py" "$work/tools" llama-2-7b-bench bench
python3 "$support/fakes.py" $fake & fakepid=$!; pids+=($fakepid); disown $fakepid
wait_http() {   # any HTTP answer will do
  for _ in $(seq 200); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0; sleep 0.05; done
  echo "$1 did not answer" >&2; exit 1
}
ticks() { cat $(for p in "$@"; do echo /proc/"$p"/stat; done) 2>/dev/null | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'; }
hz=$(getconf CLK_TCK)
sign() { python3 "$support/sign.py" $secret "$1" "$2" "$3" "http://127.0.0.1:$fake" "${4:-1}"; }
wait_http "http://127.0.0.1:$fake/stats"

start_coxswain() {   # $1 port, $2 database name; sets $server, $url
  url=$(database "$2")
  cat > "$work/$2.yaml" <<YAML
server: { host: 127.0.0.1, port: $1, operator_port: $(($1 + 1)) }
database: "$url"
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
  COXSWAIN_DATABASE_PASSWORD=$password SLACK_SIGNING_SECRET=$secret SLACK_BOT_TOKEN=xoxb-bench \
    "$bin/coxswain" serve --config "$work/$2.yaml" --log-level error > "$work/$2.log" 2>&1 &
  server=$!; pids+=($server); disown $server
  wait_http "http://127.0.0.1:$1/healthz"
  # Holds the release busy: a rollback whose `helm rollback` never returns; the requests queue behind it.
  # Held once the stand-in helm was asked to roll back (it touches tools/held): a step before it
  # that failed would leave the release free, and every queued upgrade would run meanwhile.
  touch "$work/tools/hang"; rm -f "$work/tools/held"
  IFS=$'\t' read -r ts sig body < <(sign 1 /rollback "llama-2-7b-bench" 900000)
  curl -fs -o /dev/null "http://127.0.0.1:$1/slack/commands" -H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" --data "$body"
  for _ in $(seq 400); do [ -e "$work/tools/held" ] && return 0; sleep 0.05; done
  echo "the release was not held: $(psql -d "$2" -c "SELECT outcome FROM job ORDER BY id LIMIT 1")" >&2; exit 1
}
still_held() {   # $1 database: nothing but the hold left the queue while it was measured
  local ran; ran=$(psql -d "$1" -c "SELECT count(*) FROM job WHERE state <> 'queued'")
  [ "$ran" = 1 ] || { echo "the release was not held throughout: $ran jobs left the queue" >&2; exit 1; }
}
hold_posts() { curl -fs -o /dev/null -X POST "http://127.0.0.1:$fake/control/limit-posts?seconds=$1"; }

measure() {   # $1 name, $2 url, then the pids to charge for CPU
  # The fixed rate first, on a fresh server: run after wrk, it would share the cores with the
  # backlog wrk leaves (thousands of queued jobs' first notices on their way to Slack).
  local name=$1 url=$2; shift 2
  local out throughput errors line cpu0 cpu1
  # Trigger ids apart from wrk's (1 to 200000): a trigger id seen before is a retry, answered from the record.
  sign $((rate * seconds)) /upgrade "llama-2-7b-bench 0.5.{n}" 500001 > "$work/open.txt"
  cpu0=$(ticks "$@")
  # BENCH_PROFILE=FILE: a perf profile of coxswain at the fixed rate (perf report -i FILE; the last run stays).
  if [ -n "${BENCH_PROFILE:-}" ] && [[ "$name" == coxswain* ]]; then
    perf record -q -F 499 -g -p "$1" -o "$BENCH_PROFILE" -- sleep "$seconds" 2>/dev/null &
  fi
  line=$(python3 "$support/openloop.py" "$url" "$work/open.txt" "$rate" "$seconds" 64)
  cpu1=$(ticks "$@")
  sign 200000 /upgrade "llama-2-7b-bench 0.4.{n}" > "$work/closed.txt"
  # Saturated, where the machine's CPU goes: the contender's process and PostgreSQL's (all its processes).
  local own0 db0 own1 db1 sent
  own0=$(ticks "$@"); db0=$(ticks $(pgrep -u postgres))
  # BENCH_PROFILE_SATURATED=FILE: a whole-machine perf profile while wrk saturates coxswain (perf report -i FILE --sort comm,dso).
  if [ -n "${BENCH_PROFILE_SATURATED:-}" ] && [ "$name" = coxswain ]; then
    perf record -q -a -F 499 -g -o "$BENCH_PROFILE_SATURATED" -- sleep "$seconds" 2>/dev/null &
  fi
  out=$(WEBHOOK_REQUESTS="$work/closed.txt" WEBHOOK_THREADS=2 wrk -t2 -c16 -d"${seconds}s" -s "$support/signed.lua" "$url")
  own1=$(ticks "$@"); db1=$(ticks $(pgrep -u postgres))
  throughput=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<< "$out")
  errors=$(awk '/^wrk: requests/ { print $5 }' <<< "$out")
  sent=$(awk '/^wrk: requests/ { print $3 }' <<< "$out")
  awk -v n="$name" -v tp="$throughput" -v e="$errors" -v l="$line" -v c=$((cpu1 - cpu0)) -v hz="$hz" -v s="$sent" \
    -v own=$((own1 - own0)) -v db=$((db1 - db0)) 'BEGIN {
    split(l, f, " ")
    printf "%-14s %9s req/s  (%s errors)   at %s/s: p50 %6.2f ms  p99 %7.2f ms  max %7.2f ms  non-200 %s   saturated: %.2f ms own + %.2f ms PostgreSQL   CPU %.2f ms/request\n",
      n, tp, e, f[8], f[10], f[14], f[16], f[6], 1000 * own / hz / s, 1000 * db / hz / s, 1000 * c / hz / f[4] }' | tee -a "$work/results.txt"
}

if phase webhook; then
  rounds=${BENCH_ROUNDS:-3}
  echo "== webhook on PostgreSQL: $seconds s per figure, wrk -t2 -c16, open loop at $rate/s, $rounds rounds" | tee -a "$work/results.txt"
  [ -n "${BENCH_PG_STATS:-}" ] && : > "$BENCH_PG_STATS"
  for round in $(seq "$rounds"); do
    echo "-- round $round" | tee -a "$work/results.txt"
    start_coxswain 18220 "held_$round"
    hold_posts 3600
    [ -n "${BENCH_PG_STATS:-}" ] && psql -d "held_$round" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" >/dev/null
    measure coxswain "http://127.0.0.1:18220/slack/commands" $server
    still_held "held_$round"
    # Where PostgreSQL's time went, by statement: calls, planning and execution in ms, rows, the statement.
    # Then each table's rows and when autovacuum last analysed it (plans kept from a nearly empty table: step 11).
    [ -n "${BENCH_PG_STATS:-}" ] && { echo "-- round $round"
      psql -d "held_$round" -F $'\t' -c "SELECT calls, round(total_plan_time), round(total_exec_time), rows,
      left(regexp_replace(query, '\s+', ' ', 'g'), 300) FROM pg_stat_statements ORDER BY total_plan_time + total_exec_time DESC LIMIT 25"
      psql -d "held_$round" -F $'\t' -c "SELECT relname, n_live_tup, autoanalyze_count, last_autoanalyze FROM pg_stat_user_tables ORDER BY relname"
    } >> "$BENCH_PG_STATS"
    hold_posts 0
    kill -9 $server
    start_coxswain 18230 "posts_$round"
    measure coxswain-posts "http://127.0.0.1:18230/slack/commands" $server
    still_held "posts_$round"
    kill -9 $server; rm -f "$work/tools/hang"
    BARE_DATABASE_PASSWORD=$password SLACK_SIGNING_SECRET=$secret "$bin/bare-webhook" 18240 "$(database "bare_$round")" & bare=$!
    pids+=($bare); disown $bare
    wait_http "http://127.0.0.1:18240/slack/commands"
    measure bare "http://127.0.0.1:18240/slack/commands" $bare
    kill -9 $bare
  done
  awk '
    function median(list,   n, i, j, v, a) { n = split(list, a, " "); for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > v + 0; j--) a[j + 1] = a[j]; a[j + 1] = v }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function close_round() { if ("coxswain" in tp && "bare" in tp) ratio = ratio " " tp["coxswain"] / tp["bare"]
      if ("coxswain-posts" in tp && "bare" in tp) posts = posts " " tp["coxswain-posts"] / tp["bare"]; delete tp }
    /^-- round/ { close_round() }
    / req\/s/ { tp[$1] = $2; all_tp[$1] = all_tp[$1] " " $2; all_p99[$1] = all_p99[$1] " " $12; all_cpu[$1] = all_cpu[$1] " " $(NF - 1) }
    END { close_round()
      print "medians over the rounds:"
      for (name in all_tp) printf "  %-14s %6.0f req/s   p99 %6.2f ms   CPU %.2f ms/request   (throughput by round:%s)\n", name, median(all_tp[name]), median(all_p99[name]), median(all_cpu[name]), all_tp[name]
      printf "coxswain/bare throughput %.2f (target >= 0.5; rounds:%s), with its first post %.2f (rounds:%s); coxswain p99 at the fixed rate %.2f ms (target < 10)\n",
        median(ratio), ratio, median(posts), posts, median(all_p99["coxswain"]) }
  ' "$work/results.txt" | tee -a "$work/results.txt"
fi

# PostgreSQL restarted under an open-loop load: each answer a 200, either kept ("Job #N") or
# "nothing was done"; every kept job in the database; the kept rate back within 5 s.
if phase restart; then
  restart_rate=${BENCH_RESTART_RATE:-100}
  restart_seconds=${BENCH_RESTART_SECONDS:-30}
  echo "== PostgreSQL restarted (pg_ctl restart -m fast) at $((restart_seconds / 3)) s of $restart_seconds s at $restart_rate requests/s" | tee -a "$work/results.txt"
  start_coxswain 18250 restart
  sign $((restart_rate * restart_seconds)) /upgrade "llama-2-7b-bench 0.6.{n}" > "$work/restart.txt"
  OPENLOOP_LOG="$work/answers.tsv" python3 "$support/openloop.py" "http://127.0.0.1:18250/slack/commands" "$work/restart.txt" \
    "$restart_rate" "$restart_seconds" 64 > "$work/restart-summary.txt" &
  load=$!
  sleep $((restart_seconds / 3))   # the moment of the fault, by design
  down=$(date +%s.%N)
  pg_ctl restart -m fast
  up=$(date +%s.%N)
  wait $load
  psql -d restart -c "SELECT id FROM job" > "$work/kept-ids.txt"
  python3 - "$work/answers.tsv" "$work/kept-ids.txt" "$down" "$up" "$restart_rate" <<'PY' | tee -a "$work/results.txt"
import re, sys
answers = [line.rstrip("\n").split("\t", 3) for line in open(sys.argv[1])]
stored = {int(x) for x in open(sys.argv[2]).read().split()}
down, up, rate = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
kept, nothing, other, missing = [], 0, [], []
for at, status, latency, body in answers:
    job = re.search(r"Job #(\d+)", body)
    if status == "200" and job:
        kept.append(float(at))
        if int(job.group(1)) not in stored:
            missing.append(job.group(1))
    elif status == "200" and "cannot record requests right now" in body and "Nothing was done" in body:
        nothing += 1
    else:
        other.append((status, body[:120]))
five = sum(1 for _, status, _, _ in answers if status.startswith("5"))
slowest = max(float(latency) for _, _, latency, _ in answers)
# Back: the first one-second window after PostgreSQL answered again in which 90 % of the requests were kept.
back = next((t - up for t in (up + i / 10 for i in range(600))
             if sum(1 for k in kept if t <= k < t + 1) >= 0.9 * rate), None)
print("%d requests: %d kept, %d told nothing was done, %d other, %d 5xx; slowest answer %.0f ms; PostgreSQL down %.2f s"
      % (len(answers), len(kept), nothing, len(other), five, slowest, up - down))
print("kept requests missing from the database: %d; kept rate back to 90 %% %s after PostgreSQL answered again (target: within 5 s)"
      % (len(missing), "%.1f s" % back if back is not None else "never"))
for status, body in other[:5]:
    print("  other answer: %s %s" % (status, body))
PY
  kill -9 $server; rm -f "$work/tools/hang"
fi
[ -n "${BENCH_PG_LOG:-}" ] && cp "$work/sock/pg.log" "$BENCH_PG_LOG"   # the server's log, kept
echo "== summary"
cat "$work/results.txt"
