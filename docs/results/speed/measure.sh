#!/bin/bash
cd /work/main
L=${OUT:-/tmp/lips-speed}
mkdir -p $L
T=../shared/peers/torch_fl.py
PY=.venv-peer/bin/python
date > $L/start
.build/release/lips bench round --workers 2 --rounds 3 > $L/ours2.txt 2>&1
$PY $T --dataset synthetic --model resnet8 --method fedavg --clients 100 --rounds 3 --threads 2 > $L/torch2.jsonl 2>&1
taskset -c 0 .build/release/lips bench round --workers 1 --rounds 2 > $L/ours1.txt 2>&1
taskset -c 0 $PY $T --dataset synthetic --model resnet8 --method fedavg --clients 100 --rounds 2 --threads 1 > $L/torch1.jsonl 2>&1
.build/release/lips bench round --workers 2 --rounds 1 --method lips > $L/ours2lips.txt 2>&1
$PY $T --dataset synthetic --model resnet8 --method lips --clients 100 --rounds 1 --threads 2 > $L/torch2lips.jsonl 2>&1
taskset -c 0 .build/release/lips bench round --workers 1 --clients 20 --test-num 0 > $L/alone.txt 2>&1
(taskset -c 1 .build/release/lips bench round --workers 1 --clients 20 --test-num 0 > $L/pair1.txt 2>&1 &)
taskset -c 0 .build/release/lips bench round --workers 1 --clients 20 --test-num 0 > $L/pair0.txt 2>&1
sleep 3
rm -rf /tmp/memrun
/usr/bin/time -v .build/release/lips run --preset fmnist-resnet8-lips --set rounds=2 --set update_freq=1 --out /tmp/memrun > $L/mem.txt 2>&1
date > $L/end
