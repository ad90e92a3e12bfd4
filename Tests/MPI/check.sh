#!/bin/bash
# Launch checks under Open MPI's mpirun (`make test` runs them where mpirun and Open MPI's headers
# are installed; `make setup MPI=1` installs both):
#  - a build without MPI refuses a multi-rank launch with one line and a non-zero exit;
#  - the MPI build (`--traits MPI`, in .build/mpi) sees 1, 2 and 3 ranks, each rank once, and
#    refuses commands that do not run across ranks (`lips sweep`);
#  - `lips run` gives the same metrics.jsonl (times aside), layers.csv, clients.csv, global model and a client's
#    received model on 1 process × 2 workers, 2 ranks × 1 worker and 3 ranks, for FedAvg, LIPS with
#    BN received, LIPS with BN local and partial participation;
#  - SIGTERM to one rank stops every rank after the same round with a checkpoint; resuming (on 2
#    ranks, and on 3: the shards are redistributed) ends equal to the uninterrupted run;
#  - a rank killed outright makes mpirun end the others and exit non-zero (no hang).
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}

if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# More ranks than cores on small machines; no core binding (each rank counts its own cores).
MPIRUN=(mpirun --oversubscribe --bind-to none)
# Containers often forbid the cross-process memory reads of Open MPI's shared-memory single copy.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
failures=0
fail() { echo "Tests/MPI/check.sh: FAIL: $*" >&2; failures=$((failures + 1)); }
rounds_written() { if [ -f "$1/metrics.jsonl" ]; then wc -l <"$1/metrics.jsonl"; else echo 0; fi; }
# signal_rank SIGNAL RUN_FOLDER ROUNDS LAUNCHER_PID: once RUN_FOLDER holds ROUNDS rounds (polled, as
# the run writes them), sends SIGNAL to the second rank process of that run (a rank, not mpirun).
signal_rank() {
    until [ "$(rounds_written "$2")" -ge "$3" ] || ! kill -0 "$4" 2>/dev/null; do sleep 0.2; done
    local rank_pid
    rank_pid=$(pgrep -f "^$mpi run .*--out $2\$" | sed -n 2p)
    [ -n "$rank_pid" ] && kill "-$1" "$rank_pid"
}

"$SWIFT" build --product lips >/dev/null
"$SWIFT" build --product lips --traits MPI --build-path .build/mpi >/dev/null
plain=.build/debug/lips
mpi=.build/mpi/debug/lips
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# 1. Without MPI: every rank refuses, in one line.
if "${MPIRUN[@]}" -np 2 "$plain" ranks >"$out/plain.out" 2>"$out/plain.err"; then
    fail "a build without MPI ran on 2 ranks"
fi
grep -q "^lips: error (rank [01] of 2): started by a parallel launcher (OMPI_COMM_WORLD_SIZE=2) but this lips was built without MPI" "$out/plain.err" \
    || fail "no one-line refusal from the build without MPI: $(head -3 "$out/plain.err")"

# 2. With MPI: rank 0 lists every rank once; a sweep is refused.
for n in 1 2 3; do
    "${MPIRUN[@]}" -np "$n" "$mpi" ranks >"$out/ranks$n.out" 2>"$out/ranks$n.err" || fail "lips ranks on $n ranks exited non-zero: $(head -3 "$out/ranks$n.err")"
    grep -q "^ranks: $n\$" "$out/ranks$n.out" || fail "lips ranks on $n ranks: no 'ranks: $n' line: $(head -2 "$out/ranks$n.out")"
    listed=$(awk '$1 ~ /^[0-9]+$/ {print $1}' "$out/ranks$n.out" | tr '\n' ' ')
    [ "$listed" = "$(seq -s ' ' 0 $((n - 1))) " ] || fail "lips ranks on $n ranks listed ranks '$listed'"
done
if "${MPIRUN[@]}" -np 2 "$mpi" sweep --help >"$out/sweep.out" 2>"$out/sweep.err"; then
    fail "lips sweep on 2 ranks was not refused"
fi
grep -q "^lips: error (rank [01] of 2): only \`lips run\`, \`lips bench\` and \`lips ranks\` run across MPI ranks" "$out/sweep.err" \
    || fail "no one-line refusal of lips sweep on 2 ranks: $(head -2 "$out/sweep.err")"

# 3. The same run on 1 process and on 2 and 3 ranks: the same files. Seven clients in blocks of two:
#    on 3 ranks, rank 0 owns blocks 0 and 3 (clients 0, 1, 6), rank 1 clients 2, 3, rank 2 clients 4, 5.
cat >"$out/base.yaml" <<'YAML'
dataset: synthetic
synthetic_shape: 3x8x8
synthetic_classes: 4
synthetic_train: 400
synthetic_test: 200
model: resnet4
clients: 7
train_num: 16
test_num: 10
alpha: 0.5
rounds: 4
batch_size: 8
lr: 0.05
update_d: 0.5
update_freq: 2
reference_round: 1
aggregation_block: 2
YAML
# What must match: metrics without the timings, layers.csv, clients.csv, the global model, client 6's model.
fingerprint() {
    local run=$1
    sed -E 's/, "seconds_training".*$//' "$run/metrics.jsonl" | md5sum
    md5sum <"$run/layers.csv"
    md5sum <"$run/clients.csv"
    "$mpi" export "$run" --out "$run.global.safetensors" >/dev/null && md5sum <"$run.global.safetensors"
    "$mpi" export "$run" --client 6 --out "$run.client6.safetensors" >/dev/null && md5sum <"$run.client6.safetensors"
}
run_case() {  # name, then --set overrides
    local name=$1; shift
    local sets=()
    for setting in "$@"; do sets+=(--set "$setting"); done
    "$mpi" run --config "$out/base.yaml" "${sets[@]}" --workers 2 --quiet --out "$out/$name-p1" >/dev/null 2>"$out/$name-p1.err" \
        || { fail "$name on one process: $(tail -1 "$out/$name-p1.err")"; return; }
    local expected
    expected=$(fingerprint "$out/$name-p1")
    for n in 2 3; do
        "${MPIRUN[@]}" -np "$n" "$mpi" run --config "$out/base.yaml" "${sets[@]}" --workers 1 --quiet --out "$out/$name-r$n" \
            >/dev/null 2>"$out/$name-r$n.err" || { fail "$name on $n ranks: $(tail -1 "$out/$name-r$n.err")"; continue; }
        [ "$(fingerprint "$out/$name-r$n")" = "$expected" ] || fail "$name on $n ranks differs from one process"
    done
}
run_case fedavg method=fedavg
run_case lips-bn-received method=lips
run_case lips-bn-local-fp32 method=lips bn=local grad_precision=fp32
# Gathers split into many MPI calls of at most 1000 bytes per rank must not change anything.
LIPS_MPI_PIECE_BYTES=1000 run_case lips-partial method=lips participation=0.6 eval_every=2

# 4. SIGTERM to one rank: every rank stops after the same round and saves; the resumed runs (on 2
#    ranks, and on 3, which redistributes the shards) end as the uninterrupted one.
"$mpi" run --config "$out/base.yaml" --set rounds=40 --set participation=0.6 --workers 2 --quiet --out "$out/whole" \
    >/dev/null 2>"$out/whole.err" || fail "uninterrupted run: $(tail -1 "$out/whole.err")"
expected=$(fingerprint "$out/whole")
for resume_ranks in 2 3; do
    stopped="$out/stopped$resume_ranks"
    "${MPIRUN[@]}" -np 2 "$mpi" run --config "$out/base.yaml" --set rounds=40 --set participation=0.6 --workers 1 --quiet \
        --out "$stopped" >/dev/null 2>"$stopped.err" &
    launcher=$!
    signal_rank TERM "$stopped" 2 "$launcher"
    if wait "$launcher"; then
        fail "the run signalled on one rank finished instead of stopping"
        continue
    fi
    done_rounds=$(rounds_written "$stopped")
    [ "$done_rounds" -lt 40 ] || fail "the signalled run did all 40 rounds"
    ls "$stopped/checkpoint.shards" | grep -q "^next${done_rounds}-rank1of2.bin\$" \
        || fail "no shard of rank 1 after round $((done_rounds - 1)): $(ls "$stopped/checkpoint.shards" | tr '\n' ' ')"
    "${MPIRUN[@]}" -np "$resume_ranks" "$mpi" run --workers 1 --quiet --out "$stopped" >/dev/null 2>"$stopped.resume.err" \
        || { fail "resume on $resume_ranks ranks: $(tail -1 "$stopped.resume.err")"; continue; }
    [ "$(fingerprint "$stopped")" = "$expected" ] \
        || fail "stopped after $done_rounds rounds and resumed on $resume_ranks ranks: differs from the uninterrupted run"
done

# 5. A rank killed outright: mpirun ends the other rank and exits non-zero, well before the timeout.
killed="$out/killed"
timeout 120 "${MPIRUN[@]}" -np 2 "$mpi" run --config "$out/base.yaml" --set rounds=400 --workers 1 --quiet --out "$killed" \
    >/dev/null 2>"$killed.err" &
launcher=$!
signal_rank KILL "$killed" 1 "$launcher"
wait "$launcher" && status=0 || status=$?
[ "$status" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
[ "$status" -ne 124 ] || fail "the other rank hung after a rank was killed (timeout)"
pgrep -f "^$mpi run .*--out $killed\$" >/dev/null && fail "a rank of the killed run is still running"

if [ "$failures" -gt 0 ]; then
    echo "Tests/MPI/check.sh: $failures failure(s)" >&2
    exit 1
fi
echo "Tests/MPI/check.sh: MPI checks passed (launch, identical runs on 1-3 ranks, stop and resume, a killed rank)"
