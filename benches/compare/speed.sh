#!/usr/bin/env bash
# The speed figures of docs/PERFORMANCE.md, with a peer measured in the same
# run: dmguard built with the `perf` profile, and bogofilter (Debian's
# package, installed if missing) on the same texts. Prints the machine, then
# one line per measurement: the median of RUNS runs, and the CPU seconds
# (user + sys) behind it, which a busy machine inflates less than wall time.
#
#   bash benches/compare/speed.sh [DATA_DIR]     # default ../shared/data
#   RUNS=5 STREAM=0 bash benches/compare/speed.sh   # 5 runs; skip the 1M-DM stream
#
# Not part of CI: it builds with fat LTO and takes minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-../shared/data}
runs=${RUNS:-3}
train=$data/sms/train.tsv
test=$data/sms/test.tsv
[ -f "$train" ] && [ -f "$test" ] || { echo "no $train / $test" >&2; exit 1; }
if ! command -v bogofilter >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bogofilter
fi

work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(rustc --version)"
echo "bogofilter: $(bogofilter -V 2>&1 | head -1)"
echo "load before: $(uptime | sed 's/.*load average: //')"
cargo build --profile perf --quiet --example throughput --example score --example simulate
bin=target/perf/examples

# The same texts for both: sms/test.tsv repeated 20 times, as an mbox for
# bogofilter (-M: one message after another, -T: one verdict line each) and
# as JSON lines for dmguard's score CLI (parse, check, write one line each).
python3 - "$train" "$test" "$work" <<'PY'
import json, sys
train, test, work = sys.argv[1:4]
def rows(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t", 1) for line in f]
def mbox(texts, path):
    with open(path, "w", encoding="utf-8") as out:
        for t in texts:
            out.write("From sender@example Thu Jan  1 00:00:00 2026\nSubject: \n\n")
            out.write(t.replace("\nFrom ", "\n>From ") + "\n\n")
tr = rows(train)
mbox([t for l, t in tr if l == "spam"], f"{work}/spam.mbox")
mbox([t for l, t in tr if l == "ham"], f"{work}/ham.mbox")
texts = [t for _, t in rows(test)] * 20
mbox(texts, f"{work}/test.mbox")
with open(f"{work}/test.jsonl", "w", encoding="utf-8") as out:
    for i, t in enumerate(texts):
        out.write(json.dumps({"id": str(i), "text": t}) + "\n")
print(f"texts: {len(texts)} ({len(texts) // 20} of sms/test.tsv, 20 times)")
PY
rm -rf "$work/bogo" && mkdir "$work/bogo"
bogofilter -d "$work/bogo" -M -s -I "$work/spam.mbox"
bogofilter -d "$work/bogo" -M -n -I "$work/ham.mbox"
n_texts=$(wc -l < "$work/test.jsonl")

# median of the numbers on standard input
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

# timed NAME COUNT CMD...: runs CMD RUNS times (output discarded), prints
# messages per second of wall time and of CPU time, medians.
timed() {
    local name=$1 count=$2; shift 2
    local wall=() cpu=()
    for _ in $(seq "$runs"); do
        # bogofilter exits 1 or 2 when its last message is ham or unsure;
        # time then writes that status on a line of its own first.
        /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" > /dev/null 2>&1 || true
        read -r e u s < <(tail -n 1 "$work/time")  # after any "exited with" line
        wall+=("$(awk -v n="$count" -v t="$e" 'BEGIN {print n / t}')")
        cpu+=("$(awk -v n="$count" -v u="$u" -v s="$s" 'BEGIN {print n / (u + s)}')")
    done
    printf '%-44s %10.0f msgs/s wall  %10.0f msgs/s cpu\n' "$name" \
        "$(printf '%s\n' "${wall[@]}" | median)" "$(printf '%s\n' "${cpu[@]}" | median)"
}

# throughput NAME ARGS...: the throughput example's own figures (checks
# alone, timed inside), medians of RUNS runs.
throughput() {
    local name=$1; shift
    for _ in $(seq "$runs"); do "$bin/throughput" "$@"; done > "$work/tp"
    python3 - "$name" "$work/tp" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[2])]
m = lambda k: statistics.median(r[k] for r in rows)
print(f"{sys.argv[1]:44} {m('msgs_per_sec'):10.0f} msgs/s  p50 {m('p50_ns') / 1e3:.2f} µs"
      f"  p99 {m('p99_ns') / 1e3:.1f} µs  p99.9 {m('p999_ns') / 1e3:.1f} µs"
      f"  ({rows[0]['messages']} checks, {rows[0]['threads']} thread(s))")
PY
}

echo
echo "== end to end, sms/test.tsv x20: read, classify, write a line per message"
timed "bogofilter -M -T (mbox)" "$n_texts" bogofilter -d "$work/bogo" -M -T -I "$work/test.mbox"
timed "dmguard score (JSON lines)" "$n_texts" "$bin/score" "$work/test.jsonl"
echo
echo "== check alone, sms/test.tsv x20 (throughput --repeat 20)"
throughput "dmguard check, every family" --repeat 20 "$test"

if [ "${STREAM:-1}" != 0 ]; then
    stream=$work/sim.jsonl
    [ -s "$stream" ] || "$bin/simulate" --input "$test" --followers 500000 --hours 240 > "$stream"
    n_stream=$(wc -l < "$stream")
    echo
    echo "== the simulated stream: $n_stream DMs (simulate --input sms/test.tsv --followers 500000 --hours 240)"
    throughput "every family" "$stream"
    throughput "--without-stream" --without-stream "$stream"
    throughput "--without-model" --without-model "$stream"
    throughput "--without-model --without-stream" --without-model --without-stream "$stream"
    throughput "every family, --threads 2" --threads 2 "$stream"
    timed "score CLI over the stream (end to end)" "$n_stream" "$bin/score" "$stream"
fi
echo
echo "load after: $(uptime | sed 's/.*load average: //')"
