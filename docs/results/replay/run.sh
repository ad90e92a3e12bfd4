#!/bin/sh
# Runs the engine-vs-PyTorch replay of docs/results/replay/README.md from the repository root:
#   docs/results/replay/run.sh [engine|pytorch|report|all]
# engine:  the split, the initial weights and four 10-round engine runs (runs/replay/<name>)
# pytorch: reference/replay.py on each run (runs/replay/<name>-pytorch); needs each run's
#          config.yaml only, so it may start as soon as the engine phase has started that run
# Every phase resumes where it stopped (engine checkpoints, replay-state.pt).
# report:  the table and plot of docs/results/replay (reference/replay_report.py)
# Environment: LIPS (default .build/release/lips), PYTHON (default .venv-reference/bin/python),
# WORKERS (engine workers, default 0 = one per core), THREADS (PyTorch threads, default 1),
# NAMES (the runs, default all four), REPLAY_FLAGS (more replay.py options, e.g. --mkldnn).
set -eu
phase=${1:-all}
LIPS=${LIPS:-.build/release/lips}
PYTHON=${PYTHON:-.venv-reference/bin/python}
WORKERS=${WORKERS:-0}
THREADS=${THREADS:-1}
out=runs/replay
runs=${NAMES:-fedavg lips-bn-received lips-bn-local fedavg-bn-local}
REPLAY_FLAGS=${REPLAY_FLAGS:-}

settings() {
    case $1 in
        fedavg)           echo "--preset fmnist-resnet8-fedavg" ;;
        fedavg-bn-local)  echo "--preset fmnist-resnet8-fedavg --set bn=local" ;;
        lips-bn-received) echo "--preset fmnist-resnet8-lips --set update_d=0.5 --set update_freq=5 --set horizon=30" ;;
        lips-bn-local)    echo "--preset fmnist-resnet8-lips --set update_d=0.5 --set update_freq=5 --set horizon=30 --set bn=local" ;;
    esac
}

if [ "$phase" = engine ] || [ "$phase" = all ]; then
    mkdir -p "$out"
    # The paper setting's split (ResNet-8, 100 clients, Dirichlet 0.1, 100/400 images, seed 2).
    [ -f "$out/split.json" ] || "$LIPS" data split --preset fmnist-resnet8-fedavg --seed 2 --out "$out/split.json"
    # PyTorch's own default initialisation of the same ResNet-8, seed 2.
    [ -f "$out/init.safetensors" ] || "$PYTHON" -c 'import sys, torch; sys.path.insert(0, "reference"); import models
from safetensors.torch import save_file
torch.manual_seed(2)
save_file({k: v.contiguous() for k, v in models.build("resnet8", 10).state_dict().items()}, sys.argv[1])' "$out/init.safetensors"
    for name in $runs; do
        # shellcheck disable=SC2046
        "$LIPS" run $(settings "$name") --set rounds=10 --set shuffle=false --set seed=2 \
            --set split_file="$out/split.json" --set init_from="$out/init.safetensors" \
            --set save_global_every=1 --set checkpoint_every=1 --set workers="$WORKERS" --out "$out/$name"
    done
fi

if [ "$phase" = pytorch ] || [ "$phase" = all ]; then
    for name in $runs; do
        # Resumes from its replay-state.pt when run again; does nothing once all rounds are done.
        # shellcheck disable=SC2086
        "$PYTHON" reference/replay.py "$out/$name" --out "$out/$name-pytorch" --threads "$THREADS" $REPLAY_FLAGS
    done
fi

if [ "$phase" = report ] || [ "$phase" = all ]; then
    # shellcheck disable=SC2086
    "$PYTHON" reference/replay_report.py --runs "$out" --names fedavg lips-bn-received lips-bn-local fedavg-bn-local \
        --out docs/results/replay
fi
