#!/bin/bash
# One round of the paper's setting (ResNet-8, 100 clients × 5 epochs × 100 samples, synthetic
# 3×32×32) on one machine, as 1 rank × all cores and as one rank per core, alternated ROUNDS times:
#   make build MPI=1 && docs/results/mpi/measure.sh OUT_FOLDER
# Raw `lips bench round --json` lines go to OUT_FOLDER/<method>-<layout>.jsonl; the summary (min and
# median round seconds per layout, MPI seconds and MB per rank) to OUT_FOLDER/summary.txt.
# Run it on a quiet machine: nothing else running.
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=${1:?usage: docs/results/mpi/measure.sh OUT_FOLDER}
LIPS=${LIPS:-.build/release/lips}
ROUNDS=${ROUNDS:-3}
METHODS=${METHODS:-fedavg lips}
BLOCK=${BLOCK:-10}
CORES=$(nproc)
mkdir -p "$OUT"
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}

for method in $METHODS; do
    : >"$OUT/$method-1rank.jsonl"
    : >"$OUT/$method-${CORES}ranks.jsonl"
    for sitting in $(seq "$ROUNDS"); do
        echo "sitting $sitting: $method, 1 rank x $CORES workers" >&2
        "$LIPS" bench round --method "$method" --aggregation-block "$BLOCK" --json 2>>"$OUT/headers.txt" \
            >>"$OUT/$method-1rank.jsonl"
        echo "sitting $sitting: $method, $CORES ranks x 1 worker (one core each)" >&2
        mpirun -np "$CORES" --bind-to core --map-by core "$LIPS" bench round --method "$method" \
            --aggregation-block "$BLOCK" --json 2>>"$OUT/headers.txt" >>"$OUT/$method-${CORES}ranks.jsonl"
    done
done

python3 - "$OUT" "$CORES" $METHODS >"$OUT/summary.txt" <<'PY'
import json, statistics, sys
out, cores, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
for method in methods:
    for layout in ["1rank", f"{cores}ranks"]:
        rows = [json.loads(line) for line in open(f"{out}/{method}-{layout}.jsonl")]
        seconds = [row["seconds"] for row in rows]
        line = f"{method:7s} {layout:7s} round s: min {min(seconds):.2f} median {statistics.median(seconds):.2f} (n={len(rows)})"
        line += f"  training min {min(r['training'] for r in rows):.2f}  evaluation min {min(r['evaluation'] for r in rows):.2f}"
        if "mpi_seconds" in rows[0]:
            mpi = [max(r["mpi_seconds"]) for r in rows]
            line += f"  MPI s (slowest rank) median {statistics.median(mpi):.2f}"
            line += f"  MB sent/received per rank {rows[0]['mb_sent']} / {rows[0]['mb_received']}"
        print(line)
PY
cat "$OUT/summary.txt"
