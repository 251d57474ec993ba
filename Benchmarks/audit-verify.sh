#!/usr/bin/env bash
# `coxswain audit verify` on an untouched trail of ENTRIES entries (issue 25's target: 10,000
# in under a second). The entries are chained by Benchmarks/support/audit_chain.py, an
# independent implementation of the encoding, into a database `coxswain migrate` made; the
# release binary then verifies it ROUNDS times (each a new process: opening the database
# included) and the median wall time is reported beside the entries per second.
# Usage: bash Benchmarks/audit-verify.sh [entries=10000] [rounds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=/opt/swift/usr/bin:$PATH
entries=${1:-10000}
rounds=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building the release binary..." >&2
swift build -c release --product coxswain 2>&1 | grep -E "error|Build" >&2 || true
bin=$(swift build -c release --show-bin-path)
cat > "$work/coxswain.yaml" <<YAML
database: $work/coxswain.sqlite
commands: $root/commands
environments: { production: { namespace: production, approvals: 0 } }
releases:
  llama-2-7b-production: { model: llama-2-7b, environment: production, endpoint: "http://llama:8000" }
YAML
"$bin/coxswain" migrate --config "$work/coxswain.yaml" >/dev/null
python3 "$root/Benchmarks/support/audit_chain.py" "$work/coxswain.sqlite" "$entries"
times=()
for _ in $(seq "$rounds"); do
  start=$(date +%s.%N)
  "$bin/coxswain" audit verify --config "$work/coxswain.yaml" > "$work/out.txt"
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc)")
done
grep -q "the audit trail verifies" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
head -1 "$work/out.txt"
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$entries" '{ t[NR] = $1 } END {
  m = t[int((NR + 1) / 2)]; printf "verify: median %.3f s over %d runs (min %.3f, max %.3f): %.0f entries/s; target < 1 s: %s\n",
  m, NR, t[1], t[NR], n / m, (m < 1 ? "holds" : "NOT met") }'
