#!/bin/bash
# The Slurm example scripts, submitted to a running Slurm (`make test` runs this where sbatch exists
# and sinfo answers; `Tests/Slurm/cluster.sh start`, as root, makes this machine a one-node cluster,
# as CI does). A tiny sweep of 4 runs stands in for the paper's, through the scripts' LIPS, SWEEP,
# OUT, SHARDS and CONFIG variables; sbatch options on the command line override the scripts' own
# (CPUs, memory, time limits). Every wait is bounded and ends in a FAIL naming the job's state.
#  (a) examples/slurm/paper-sweep.sbatch as a 3-task array: one log per task in the submission
#      folder, and every run equal to `lips sweep` run directly (metrics.jsonl but its seconds*
#      fields, layers.csv, clients.csv, the exported global model);
#  (b) the same script resubmitted as --array=0,2 into a new folder runs exactly the runs of shards
#      0/3 and 2/3; `lips sweep` in an array 3,7 refuses in one line to guess the shard count, and in
#      an array 0-1 takes shards 0/2 and 1/2;
#  (c) the same script as one task with a one-minute limit: Slurm's SIGTERM before the limit
#      (--signal=TERM@55) stops the sweep with a checkpoint, status 75, the task requeues itself as
#      often as it takes, and ends equal to the direct sweep, never killed by the limit;
#  (d) examples/slurm/multi-node.sbatch on this node (2 ranks with srun --mpi=pmix where the MPI
#      build and Slurm's PMIx plugin exist, else 1): `scancel --signal=TERM` stops it after a round,
#      it requeues itself and ends equal to the run made directly.
# The jobs run as the submitting user from a folder under .build (shared where the repository is);
# SBATCH_PARTITION and SBATCH_ACCOUNT choose where, as for any sbatch. KEEP=1 keeps that folder
# (the jobs' logs and run folders).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
SWIFT=${SWIFT:-swift}
failures=0
fail() { echo "Tests/Slurm/check.sh: FAIL: $*" >&2; failures=$((failures + 1)); }
rounds_written() { if [ -f "$1/metrics.jsonl" ]; then wc -l <"$1/metrics.jsonl"; else echo 0; fi; }

"$SWIFT" build --product lips >/dev/null
lips=$repo/.build/debug/lips
# Two ranks under srun need the MPI build, Open MPI and Slurm's PMIx plugin; else one process.
if pkg-config --exists ompi-c 2>/dev/null && srun --mpi=list 2>&1 | grep -w pmix >/dev/null; then
    "$SWIFT" build --product lips --traits MPI --build-path .build/mpi >/dev/null
    mpi_lips=$repo/.build/mpi/debug/lips
    ranks=2
    export OMPI_MCA_btl_vader_single_copy_mechanism=none   # containers forbid Open MPI's single copy
else
    mpi_lips=$lips
    ranks=1
fi

mkdir -p .build
out=$(mktemp -d "$repo/.build/slurm-check.XXXXXX")
jobs=()
cleanup() {
    [ "${#jobs[@]}" -eq 0 ] || scancel "${jobs[@]}" 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "Tests/Slurm/check.sh: kept $out" >&2; else rm -rf "$out"; fi
}
trap cleanup EXIT

# 4 runs in sweep order: 0 method=fedavg,seed=1  1 method=fedavg,seed=2  2 method=lips,seed=1
# 3 method=lips,seed=2; of 3 shards, shard 0 runs 0 and 3, shard 1 run 1, shard 2 run 2. About a
# minute on one core of a debug build in all: longer than (c)'s first signal comes.
cat >"$out/sweep.yaml" <<'YAML'
base:
  dataset: synthetic
  synthetic_shape: 3x8x8
  synthetic_classes: 4
  synthetic_train: 400
  synthetic_test: 200
  model: cnn
  clients: 4
  aggregation_block: 2
  train_num: 16
  test_num: 10
  local_epochs: 1
  batch_size: 8
  rounds: 40
grid:
  method: [fedavg, lips]
  seed: [1, 2]
YAML
runs=("method=fedavg,seed=1" "method=fedavg,seed=2" "method=lips,seed=1" "method=lips,seed=2")

# job_records JOB: a line per job of JOB (each array task): "TASK STATE EXITCODE RESTARTS".
job_records() {
    local line task state code restarts
    { scontrol -o show job "$1" 2>/dev/null || true; } | while IFS= read -r line; do
        task=- state=? code=? restarts=?
        [[ $line =~ \ ArrayTaskId=([^ ]+) ]] && task=${BASH_REMATCH[1]}
        [[ $line =~ \ JobState=([^ ]+) ]] && state=${BASH_REMATCH[1]}
        [[ $line =~ \ ExitCode=([^ ]+) ]] && code=${BASH_REMATCH[1]}
        [[ $line =~ \ Restarts=([^ ]+) ]] && restarts=${BASH_REMATCH[1]}
        echo "$task $state $code $restarts"
    done
}
ended() {
    local records
    records=$(job_records "$1")
    [ -n "$records" ] \
        && ! grep -qvE '^[^ ]+ (COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) ' <<<"$records"
}
# wait_job JOB SECONDS WHAT: polls until every task of JOB has ended; a FAIL (and scancel) after SECONDS.
wait_job() {
    local deadline=$((SECONDS + $2))
    until ended "$1"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "$3: job $1 has not ended after $2 s: $(job_records "$1" | tr '\n' ';')"
            scancel "$1" 2>/dev/null || true
            return 1
        fi
        sleep 1
    done
}
# submit [NAME=VALUE...] SBATCH_ARGS...: sbatch --parsable from $out (the submission folder, where
# the logs go) with the variables NAME=VALUE in its environment; prints the job id.
submit() {
    local vars=() id
    while [[ ${1:-} == [A-Z]*=* ]]; do vars+=("$1"); shift; done
    id=$(cd "$out" && env "${vars[@]}" sbatch --parsable --mem=500M "$@") || return 1
    echo "${id%%;*}"
}
# fingerprint RUN: what must equal between runs: metrics without the timings, layers, clients, the global model.
fingerprint() {
    if ! sed -E 's/, "seconds_training".*$//' "$1/metrics.jsonl" | md5sum || ! md5sum <"$1/layers.csv" \
        || ! md5sum <"$1/clients.csv" \
        || ! "$lips" export "$1" --out "$1.global.safetensors" >/dev/null || ! md5sum <"$1.global.safetensors"; then
        echo "incomplete run"
    fi
}
# same_as_direct FOLDER RUN WHAT: FOLDER/RUN is the direct sweep's RUN, bit for bit.
same_as_direct() {
    if [ ! -f "$1/$2/metrics.jsonl" ]; then
        fail "$3: $2 has no metrics.jsonl"
    elif [ "$(rounds_written "$1/$2")" != 40 ]; then
        fail "$3: $2 has $(rounds_written "$1/$2") of 40 rounds"
    elif [ "$(fingerprint "$1/$2")" != "$(cat "$out/direct/$2.fingerprint")" ]; then
        fail "$3: $2 differs from lips sweep run directly"
    fi
}
sweep_script=("$repo/examples/slurm/paper-sweep.sbatch")
sweep_env=(LIPS="$lips" SWEEP="$out/sweep.yaml")
log_of() { echo "$out/lips-paper-cifar10-$1_$2.out"; }   # the script's --output, in the submission folder

started=$SECONDS
took=()   # seconds per part, for the summary line
# (a) A 3-task array, while the same sweep runs directly alongside.
array=$(submit "${sweep_env[@]}" OUT="$out/array" SHARDS=3 --array=0-2 --cpus-per-task=1 --time=10 --signal=TERM@30 "${sweep_script[@]}")
jobs+=("$array")
"$lips" sweep --config "$out/sweep.yaml" --out "$out/direct" --workers 1 --quiet >"$out/direct.log" 2>&1 \
    || fail "lips sweep run directly: $(tail -1 "$out/direct.log")"
for run in "${runs[@]}"; do
    fingerprint "$out/direct/$run" >"$out/direct/$run.fingerprint"
done
if wait_job "$array" 600 "(a) the 3-task array"; then
    records=$(job_records "$array")
    [ "$(awk '{ print $1, $2, $3 }' <<<"$records" | sort | tr '\n' ';')" = "0 COMPLETED 0:0;1 COMPLETED 0:0;2 COMPLETED 0:0;" ] \
        || fail "(a) the array's tasks did not all complete with status 0: $(tr '\n' ';' <<<"$records")"
    for task in 0 1 2; do
        grep -q "shard $task/3" "$(log_of "$array" "$task")" 2>/dev/null \
            || fail "(a) no log of task $task in the submission folder saying 'shard $task/3': $(ls "$out" | tr '\n' ' ')"
    done
    for run in "${runs[@]}"; do same_as_direct "$out/array" "$run" "(a) the 3-task array"; done
fi

took+=("(a) $((SECONDS - started)) s"); started=$SECONDS

# (b) Tasks 0 and 2 of the 3 again, into a new folder: exactly the runs of shards 0/3 and 2/3.
subset=$(submit "${sweep_env[@]}" OUT="$out/subset" SHARDS=3 --array=0,2 --cpus-per-task=1 --time=10 --signal=TERM@30 "${sweep_script[@]}")
jobs+=("$subset")
# lips sweep itself, without --shard, in an array 3,7 (a resubmission: SLURM_ARRAY_TASK_COUNT 2) and 0-1.
guess=$(submit --array=3,7 --time=1 --output="guess-%a.out" --wrap "'$lips' sweep --config '$out/sweep.yaml' --list")
whole=$(submit --array=0-1 --time=1 --output="whole-%a.out" --wrap "'$lips' sweep --config '$out/sweep.yaml' --list")
jobs+=("$guess" "$whole")
if wait_job "$subset" 600 "(b) the resubmitted tasks 0,2"; then
    records=$(job_records "$subset")
    [ "$(awk '{ print $1, $2, $3 }' <<<"$records" | sort | tr '\n' ';')" = "0 COMPLETED 0:0;2 COMPLETED 0:0;" ] \
        || fail "(b) tasks 0,2 did not both complete with status 0: $(tr '\n' ';' <<<"$records")"
    made=$(ls "$out/subset" 2>/dev/null | grep '^method=' | grep -v '\.safetensors$' | tr '\n' ' ' || true)
    [ "$made" = "${runs[0]} ${runs[2]} ${runs[3]} " ] \
        || fail "(b) tasks 0,2 of 3 made the run folders '$made', expected those of shards 0/3 and 2/3: ${runs[0]} ${runs[2]} ${runs[3]}"
    for run in "${runs[0]}" "${runs[2]}" "${runs[3]}"; do same_as_direct "$out/subset" "$run" "(b) tasks 0,2"; done
fi
if wait_job "$guess" 120 "(b) lips sweep in an array 3,7" && wait_job "$whole" 120 "(b) lips sweep in an array 0-1"; then
    for task in 3 7; do
        lines=$(cat "$out/guess-$task.out" 2>/dev/null)
        [ "$lines" = "lips: error: Slurm array task $task: the array (2 tasks from 3 to 7) is not 0-1 without gaps, so it does not give the shard count; give --shard $task/N, N the number of shards (the full array's size)" ] \
            || fail "(b) lips sweep in task $task of an array 3,7 did not refuse in one line: $lines"
    done
    [ "$(job_records "$guess" | awk '{ print $3 }' | sort -u)" = "2:0" ] \
        || fail "(b) lips sweep in an array 3,7 did not exit with status 2: $(job_records "$guess" | tr '\n' ';')"
    for task in 0 1; do
        grep -q "shard $task/2 owns 2:" "$out/whole-$task.out" 2>/dev/null \
            || fail "(b) lips sweep in task $task of an array 0-1 did not take shard $task/2: $(head -1 "$out/whole-$task.out" 2>/dev/null)"
    done
fi

took+=("(b) $((SECONDS - started)) s"); started=$SECONDS

# (d) multi-node.sbatch on this node: stopped with scancel --signal=TERM after two rounds, requeued.
config="$out/direct/${runs[2]}/config.yaml"
multi=$(submit LIPS="$mpi_lips" CONFIG="$config" OUT="$out/multi" --nodes=1 --ntasks-per-node="$ranks" \
    --cpus-per-task=1 --time=10 --signal=TERM@30 "$repo/examples/slurm/multi-node.sbatch")
jobs+=("$multi")
deadline=$((SECONDS + 300))
until [ "$(rounds_written "$out/multi")" -ge 2 ] || ended "$multi" || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
if [ "$(rounds_written "$out/multi")" -lt 2 ]; then
    fail "(d) multi-node.sbatch wrote no 2 rounds: $(job_records "$multi" | tr '\n' ';') $(tail -3 "$out"/lips-multi-node-"$multi".out 2>/dev/null)"
    scancel "$multi" 2>/dev/null || true
else
    scancel --signal=TERM "$multi"
    if wait_job "$multi" 300 "(d) multi-node.sbatch"; then
        records=$(job_records "$multi")
        read -r _ state code restarts <<<"$records"
        [ "$state $code" = "COMPLETED 0:0" ] || fail "(d) multi-node.sbatch ended $state $code"
        [ "$restarts" -ge 1 ] 2>/dev/null || fail "(d) multi-node.sbatch was not requeued after scancel --signal=TERM (restarts: $restarts)"
        grep -q "requeueing job $multi" "$out/lips-multi-node-$multi.out" \
            || fail "(d) multi-node.sbatch's log has no requeue line"
        if [ "$(rounds_written "$out/multi")" != 40 ]; then
            fail "(d) multi-node.sbatch's run has $(rounds_written "$out/multi") of 40 rounds"
        elif [ "$(fingerprint "$out/multi")" != "$(cat "$out/direct/${runs[2]}.fingerprint")" ]; then
            fail "(d) multi-node.sbatch ($ranks ranks, stopped and requeued) differs from ${runs[2]} run directly"
        fi
    fi
fi

took+=("(d) $((SECONDS - started)) s"); started=$SECONDS

# (c) One task, one-minute limit: Slurm signals lips before the limit, the task requeues itself
#     until the sweep is done.
limited=$(submit "${sweep_env[@]}" OUT="$out/limited" SHARDS=1 --array=0 --cpus-per-task=1 --time=1 --signal=TERM@55 \
    "${sweep_script[@]}")
jobs+=("$limited")
if wait_job "$limited" 900 "(c) the task with a one-minute limit"; then
    records=$(job_records "$limited")
    read -r _ state code restarts <<<"$records"
    log=$(log_of "$limited" 0)
    [ "$state $code" = "COMPLETED 0:0" ] || fail "(c) the task with a one-minute limit ended $state $code: $(tail -3 "$log")"
    [ "$restarts" -ge 1 ] 2>/dev/null \
        || fail "(c) the task with a one-minute limit was never requeued (restarts: $restarts); did the sweep end before Slurm's signal?"
    [ "$(grep -c "requeueing job" "$log")" = "$restarts" ] \
        || fail "(c) $restarts requeues but $(grep -c "requeueing job" "$log") requeue lines in the log"
    grep -q "TIME LIMIT" "$log" && fail "(c) Slurm killed the task at its time limit: $(grep "TIME LIMIT" "$log")"
    for run in "${runs[@]}"; do same_as_direct "$out/limited" "$run" "(c) the task requeued $restarts times"; done
fi

took+=("(c) $((SECONDS - started)) s")

if [ "$failures" -gt 0 ]; then
    echo "Tests/Slurm/check.sh: $failures failure(s) (KEEP=1 keeps the jobs' logs; Slurm's own: see Tests/Slurm/cluster.sh)" >&2
    exit 1
fi
echo "Tests/Slurm/check.sh: Slurm checks passed (array = direct sweep, resubmitted tasks 0,2, a one-minute limit requeued $restarts times, multi-node.sbatch on $ranks ranks stopped and requeued; $(IFS=,; echo "${took[*]}" | sed 's/,/, /g'))"
