#!/bin/bash
# Launch checks under Open MPI's mpirun (`make test` runs them where mpirun and Open MPI's headers
# are installed; `make setup MPI=1` installs both):
#  - a build without MPI refuses a multi-rank launch with one line and a non-zero exit;
#  - the MPI build (`--traits MPI`, in .build/mpi) sees 1, 2 and 3 ranks, each rank once;
#  - the MPI build refuses what does not run across ranks yet (`lips run`).
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
grep -q "^lips: error: started as rank [01] of 2 (OMPI_COMM_WORLD_SIZE) but this lips was built without MPI" "$out/plain.err" \
    || fail "no one-line refusal from the build without MPI: $(head -3 "$out/plain.err")"

# 2. With MPI: rank 0 lists every rank once.
for n in 1 2 3; do
    "${MPIRUN[@]}" -np "$n" "$mpi" ranks >"$out/ranks$n.out" 2>"$out/ranks$n.err" || fail "lips ranks on $n ranks exited non-zero: $(head -3 "$out/ranks$n.err")"
    grep -q "^ranks: $n\$" "$out/ranks$n.out" || fail "lips ranks on $n ranks: no 'ranks: $n' line: $(head -2 "$out/ranks$n.out")"
    listed=$(awk '$1 ~ /^[0-9]+$/ {print $1}' "$out/ranks$n.out" | tr '\n' ' ')
    [ "$listed" = "$(seq -s ' ' 0 $((n - 1))) " ] || fail "lips ranks on $n ranks listed ranks '$listed'"
done

# 3. With MPI, a run on several ranks is refused (until the distributed round lands).
if "${MPIRUN[@]}" -np 2 "$mpi" run --preset fmnist-resnet8-fedavg --out "$out/run" >"$out/run.out" 2>"$out/run.err"; then
    fail "lips run on 2 ranks was not refused"
fi
grep -q "^lips: error: only \`lips ranks\` runs across MPI ranks so far" "$out/run.err" || fail "no one-line refusal of lips run on 2 ranks"
[ ! -e "$out/run" ] || fail "the refused run created its folder"

if [ "$failures" -gt 0 ]; then
    echo "Tests/MPI/check.sh: $failures failure(s)" >&2
    exit 1
fi
echo "Tests/MPI/check.sh: MPI launch checks passed (1, 2 and 3 ranks)"
