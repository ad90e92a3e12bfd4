#!/bin/bash
# Kill trials: runs and sweeps killed with SIGKILL at random moments (no checkpoint on the way
# out), then rerun to the end; every end must equal the uninterrupted run bit for bit (metrics
# without the seconds* fields, layers.csv, the exported global model).
#   docs/results/reliability/kill-trials.sh OUT_FOLDER [TRIALS]      (default 60 trials)
# Kinds, in turn: one run on 1 worker, one run on 2 workers (LIPS, partial participation, BN
# local, a checkpoint every round, so many kills land inside checkpoint writes), and a sweep of
# 4 runs with 2 runs at a time. A trial counts as "during a write" when a temporary file of an
# atomic write is left behind by the kill. Summary in OUT_FOLDER/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=${1:?usage: kill-trials.sh OUT_FOLDER [TRIALS]}
TRIALS=${2:-60}
LIPS=${LIPS:-.build/release/lips}
[ -x "$LIPS" ] || swift build -c release --product lips >/dev/null
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/run.yaml" <<'YAML'
dataset: synthetic
synthetic_shape: 3x8x8
synthetic_classes: 4
synthetic_train: 600
synthetic_test: 200
model: cnn
clients: 8
train_num: 24
test_num: 10
rounds: 40
batch_size: 8
method: lips
update_d: 0.5
update_freq: 2
participation: 0.5
bn: local
checkpoint_every: 1
YAML
cat >"$work/sweep.yaml" <<'YAML'
base:
  dataset: synthetic
  synthetic_shape: 3x8x8
  synthetic_classes: 4
  synthetic_train: 400
  synthetic_test: 200
  model: cnn
  clients: 6
  train_num: 16
  test_num: 10
  rounds: 20
  batch_size: 8
  checkpoint_every: 1
grid:
  method: [fedavg, lips]
  seed: [2, 3]
YAML

fingerprint_run() {
    sed -E 's/, "seconds_training".*$//' "$1/metrics.jsonl" | md5sum
    md5sum <"$1/layers.csv"
    "$LIPS" export "$1" --out "$1.global.safetensors" >/dev/null && md5sum <"$1.global.safetensors"
}
fingerprint_sweep() {
    for run in "$1"/*/; do fingerprint_run "${run%/}"; done
}
command_for() {  # kind folder
    case $1 in
        run1) echo "$LIPS run --config $work/run.yaml --workers 1 --quiet --out $2" ;;
        run2) echo "$LIPS run --config $work/run.yaml --workers 2 --quiet --out $2" ;;
        sweep) echo "$LIPS sweep --config $work/sweep.yaml --workers 2 --parallel-runs 2 --quiet --out $2" ;;
    esac
}
fingerprint_of() {  # kind folder
    if [ "$1" = sweep ]; then fingerprint_sweep "$2"; else fingerprint_run "$2"; fi
}

declare -A expected
for kind in run1 run2 sweep; do
    $(command_for "$kind" "$work/whole-$kind") >/dev/null 2>&1
    expected[$kind]=$(fingerprint_of "$kind" "$work/whole-$kind")
done
[ "${expected[run1]}" = "${expected[run2]}" ] || echo "note: 1 and 2 workers differ (they must not)" >&2

log="$OUT/trials.txt"
: >"$log"
equal=0 during_write=0 before_first=0
for trial in $(seq "$TRIALS"); do
    kind=$(echo run1 run2 sweep | cut -d' ' -f$(( (trial - 1) % 3 + 1 )))
    folder="$work/trial$trial"
    delay=$(awk -v seed="$trial" 'BEGIN { srand(seed * 7919); printf "%.2f", 0.2 + rand() * 2.4 }')
    $(command_for "$kind" "$folder") >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"    # the random moment of the kill, not a wait for anything
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    leftovers=$({ find "$folder" -name '.*.tmp-*' 2>/dev/null || true; } | wc -l)
    rounds=$({ cat "$folder"/metrics.jsonl "$folder"/*/metrics.jsonl 2>/dev/null || true; } | wc -l)
    [ "$leftovers" -gt 0 ] && during_write=$((during_write + 1))
    [ "$rounds" = 0 ] && before_first=$((before_first + 1))
    status=0
    $(command_for "$kind" "$folder") >/dev/null 2>"$folder.err" || status=$?
    if [ "$status" = 0 ] && [ "$(fingerprint_of "$kind" "$folder")" = "${expected[$kind]}" ]; then
        verdict=equal
        equal=$((equal + 1))
    else
        verdict="DIFFERENT (resume status $status: $(tail -1 "$folder.err" 2>/dev/null))"
    fi
    echo "trial $trial: $kind killed after ${delay}s, $rounds rounds written, $leftovers temporary files left; resumed: $verdict" | tee -a "$log"
done
{
    echo "$TRIALS SIGKILL trials ($(date -u +%Y-%m-%d), $(nproc) cores, $LIPS): $equal ended equal to the uninterrupted run"
    echo "kills inside an atomic write (a temporary file left behind): $during_write; before the first round was written: $before_first"
} | tee "$OUT/summary.txt"
[ "$equal" = "$TRIALS" ]
