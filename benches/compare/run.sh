#!/usr/bin/env bash
# Runs dmguard beside bogofilter and scikit-learn on the same train/test split
# and prints one table: quality figures, messages per second, and ratios.
# Not part of CI: it installs bogofilter (Debian) and scikit-learn (pip).
#
#   bash benches/compare/run.sh [DATA_DIR]    # default ../shared/data
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-../shared/data}
train=$data/sms/train.tsv
test=$data/sms/test.tsv
[ -f "$train" ] && [ -f "$test" ] || { echo "no $train / $test" >&2; exit 1; }

if ! command -v bogofilter >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bogofilter
fi
python3 -c 'import sklearn' 2>/dev/null || pip install -q scikit-learn

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The perf profile (fat LTO), as for every speed figure: see docs/PERFORMANCE.md.
cargo build --profile perf --quiet --example score --example throughput

# dmguard: the built-in model, scored through the score CLI (end to end).
python3 - "$test" "$work/test.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
    for i, line in enumerate(f):
        label, text = line.rstrip("\n").split("\t", 1)
        out.write(json.dumps({"id": str(i), "text": text}) + "\n")
PY
start=$(date +%s.%N)
./target/perf/examples/score "$work/test.jsonl" > "$work/dmguard.out" 2>/dev/null
end=$(date +%s.%N)
echo "$start $end" > "$work/dmguard.time"
./target/perf/examples/throughput --repeat 20 "$test" > "$work/dmguard.throughput"

python3 benches/compare/peers.py "$train" "$test" "$work"
