#!/bin/bash
# One sitting for every kind of round the speed goals name, into one folder: measure.sh once per
# kind, each in its own subfolder, then every summary gathered into OUT_DIR/summary.txt.
#
#   docs/results/speed/sitting.sh OUT_DIR
#
# Kinds (KINDS, default all four): fedavg (FedAvg round, 2 cores and 1 core), lips (LIPS masking
# round, BN received), lips-bn-local (LIPS masking round with every client keeping its BN state),
# vgg (FedAvg round of VGG-11-bn, 2 cores only: about 3 minutes per PyTorch round). The other knobs
# of measure.sh (CLIENTS, ROUNDS, REFERENCE_VENV) pass through. Nothing else may run meanwhile:
# about an hour on a 2-core machine.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT=$1
mkdir -p "$OUT"
MEASURE="$(cd "$(dirname "$0")" && pwd)/measure.sh"
KINDS=${KINDS:-fedavg lips lips-bn-local vgg}

for kind in $KINDS; do
    case $kind in
        fedavg) env METHOD=fedavg BN=received MODEL=resnet8 "$MEASURE" "$OUT/$kind" ;;
        lips) env METHOD=lips BN=received MODEL=resnet8 "$MEASURE" "$OUT/$kind" ;;
        lips-bn-local) env METHOD=lips BN=local MODEL=resnet8 "$MEASURE" "$OUT/$kind" ;;
        vgg) env METHOD=fedavg BN=received MODEL=vgg11bn SETTINGS=2cores "$MEASURE" "$OUT/$kind" ;;
        *) echo "sitting.sh: unknown kind '$kind' (fedavg, lips, lips-bn-local, vgg)" >&2; exit 2 ;;
    esac
done

for kind in $KINDS; do
    echo "== $kind"
    cat "$OUT/$kind/summary.txt"
done > "$OUT/summary.txt"
cat "$OUT/summary.txt"
