#!/bin/bash
# Times a federated round of lips against the same round in PyTorch (reference/torch_round.py),
# alternating the two so that both see the same machine: on 2 cores (lips 2 workers, PyTorch 2
# threads) and on 1 core (`taskset -c 0`, lips 1 worker, PyTorch 1 thread). Writes the raw logs into
# OUT_DIR and prints, per setting and side, the min and median round seconds and lips / PyTorch.
#
#   docs/results/speed/measure.sh [OUT_DIR]        # default OUT_DIR: a new folder from mktemp -d
#
# Knobs (environment): CLIENTS (100), ROUNDS (3: timed rounds per side and setting), MODEL (resnet8
# or vgg11bn), METHOD (fedavg; lips times masking rounds), BN (received; local: every client keeps
# its BN state and scores its own model every round), SETTINGS ("2cores 1core"),
# REFERENCE_VENV (.venv-reference). The defaults take about a quarter of an hour on a 2-core
# machine; `CLIENTS=10 ROUNDS=1` checks the script in a few minutes. Missing pieces are built
# first: the release binary (swift build) and the PyTorch environment (make reference-env).
# Cores are the first one or two of the process's affinity mask, so it also runs inside taskset
# or a Slurm allocation.
set -euo pipefail

OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/lips-speed.XXXXXX")}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/../../.."

CLIENTS=${CLIENTS:-100}
ROUNDS=${ROUNDS:-3}
MODEL=${MODEL:-resnet8}
METHOD=${METHOD:-fedavg}
BN=${BN:-received}
SETTINGS=${SETTINGS:-2cores 1core}
REFERENCE_VENV=${REFERENCE_VENV:-.venv-reference}
LIPS=.build/release/lips
PYTHON=$REFERENCE_VENV/bin/python

if [ ! -x "$LIPS" ]; then
    echo "measure.sh: building $LIPS" >&2
    swift build -c release --product lips
fi
if [ ! -x "$PYTHON" ]; then
    echo "measure.sh: building the PyTorch environment $REFERENCE_VENV" >&2
    make reference-env REFERENCE_VENV="$REFERENCE_VENV"
fi

# The first two CPUs this process may use (taskset, Slurm cpusets), as taskset lists.
read -r first second < <("$PYTHON" -c 'import os; print(*sorted(os.sched_getaffinity(0))[:2])')

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1), $(getconf _NPROCESSORS_ONLN) online"
    echo "workload: $MODEL, $METHOD, bn $BN, $CLIENTS clients x 5 epochs x 100 samples, 400 test images each; $ROUNDS rounds per side"
    echo "torch: $("$PYTHON" -c 'import torch; print(torch.__version__)')"
} > "$OUT/about.txt"

# One round of each side, ROUNDS times, alternating; every output appended to the setting's logs.
# (The setup of each process — data, model, lips's SGEMM peak — is outside the timed round.)
for setting in $SETTINGS; do
    case $setting in
        2cores)
            [ -n "${second:-}" ] || { echo "measure.sh: setting 2cores needs two CPUs, this process has one" >&2; exit 2; }
            pin=(taskset -c "$first,$second"); workers=2 ;;
        1core) pin=(taskset -c "$first"); workers=1 ;;
        *) echo "measure.sh: unknown setting '$setting' (2cores, 1core)" >&2; exit 2 ;;
    esac
    for ((i = 1; i <= ROUNDS; i++)); do
        echo "measure.sh: $setting, round $i of $ROUNDS: lips, then PyTorch" >&2
        "${pin[@]}" "$LIPS" bench round --model "$MODEL" --method "$METHOD" --bn "$BN" --clients "$CLIENTS" \
            --workers "$workers" --rounds 1 --json >> "$OUT/lips-$setting.jsonl" 2>> "$OUT/lips-$setting.log"
        "${pin[@]}" "$PYTHON" reference/torch_round.py --model "$MODEL" --method "$METHOD" --bn "$BN" --clients "$CLIENTS" \
            --threads "$workers" --rounds 1 >> "$OUT/torch-$setting.jsonl" 2>> "$OUT/torch-$setting.log"
    done
done

# Seconds per round and per part: lips's JSON lines (seconds, training, evaluation, scoring), PyTorch's
# (round_s, train_s, eval_s; its mask_s counts with the round only). PyTorch's evaluation scores every
# client's received model; lips's also scores the dense global model on every distinct test image
# (its dense accuracy), so "scoring" sets lips's personal-model scoring alone against it, in rounds
# that have personal models (LIPS masks, bn local).
"$PYTHON" - "$OUT" $SETTINGS <<'EOF' | tee "$OUT/summary.txt"
import json, os, statistics, sys
out, settings = sys.argv[1], sys.argv[2:]
print(f"seconds ({os.path.basename(out)})")
print(f"{'setting':8} {'part':10} {'side':8} {'rounds':>6} {'min':>8} {'median':>8}")
def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]
for setting in settings:
    ours, theirs = rows(f"{out}/lips-{setting}.jsonl"), rows(f"{out}/torch-{setting}.jsonl")
    if not ours or not theirs:
        sys.exit(f"measure.sh: no rounds found for {setting} in {out}")
    parts = [("round", "seconds", "round_s"), ("training", "training", "train_s"), ("evaluation", "evaluation", "eval_s")]
    if any(r.get("scoring", 0) > 0 for r in ours):
        parts.append(("scoring", "scoring", "eval_s"))
    for part, mine, other in parts:
        a, b = [r[mine] for r in ours], [r[other] for r in theirs]
        for side, times in (("lips", a), ("PyTorch", b)):
            print(f"{setting:8} {part:10} {side:8} {len(times):6d} {min(times):8.2f} {statistics.median(times):8.2f}")
        ratio_min = min(a) / min(b) if min(b) > 0 else float("nan")
        ratio_median = statistics.median(a) / statistics.median(b) if statistics.median(b) > 0 else float("nan")
        print(f"{setting:8} {part:10} {'ratio':8} {'':6} {ratio_min:8.2f} {ratio_median:8.2f}   (lips / PyTorch)")
    print(f"{setting:8} OpenBLAS kernels: {ours[0].get('blas_kernels', 'unknown')}")
EOF
