#!/usr/bin/env bash
# Measures how fast POST /slack/commands answers a valid, signed /rollback.
# Starts a release build of coxswain on loopback with a throw-away database, pre-signs
# N distinct slash commands (each a new job, as in real use), and drives them with wrk.
# Usage: bash Benchmarks/webhook/run.sh [duration-seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
duration=${1:-10}
connections=${2:-16}
command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=18089
cat > "$work/bench.yaml" <<YAML
server: { host: 127.0.0.1, port: $port, operator_port: $((port + 1)) }
database: $work/bench.sqlite
commands: $PWD/commands
slack: { api_url: "http://127.0.0.1:9/api" }
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
SLACK_SIGNING_SECRET=bench-secret SLACK_BOT_TOKEN=xoxb-bench .build/release/coxswain serve --config "$work/bench.yaml" --log-level error &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "coxswain serve did not start" >&2; exit 1; }

python3 Benchmarks/webhook/sign.py bench-secret 200000 > "$work/requests.txt"
WEBHOOK_REQUESTS="$work/requests.txt" wrk -t"$(( connections < 2 ? 1 : 2 ))" -c"$connections" -d"${duration}s" --latency \
  -s Benchmarks/webhook/signed.lua "http://127.0.0.1:$port/slack/commands"
