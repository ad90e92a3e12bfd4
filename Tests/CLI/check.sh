#!/bin/bash
# Checks of the `lips` binary as a shell or a batch scheduler drives it (`make test` runs them):
#  - a progress pipe whose reader has gone (`lips run … | head -1`) costs no round: the run finishes;
#  - a run stopped by SIGINT/SIGTERM saves its checkpoint and exits with status 75;
#  - a second `lips run` on a folder that a running one holds is refused in one line, before it
#    writes anything, and the folder runs again once the first has ended;
#  - negative numbers, an empty --out, sample counts beyond the data and an unknown `lips plot --metric`
#    are one-line errors (exit 2);
#  - --version names the commit, make install/uninstall place and remove the binary, run folders get provenance.json;
#  - SCAFFOLD with local momentum is noted on stderr, also with --quiet.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}
failures=0
fail() { echo "Tests/CLI/check.sh: FAIL: $*" >&2; failures=$((failures + 1)); }
rounds_written() { if [ -f "$1/metrics.jsonl" ]; then wc -l <"$1/metrics.jsonl"; else echo 0; fi; }

"$SWIFT" build --product lips >/dev/null
lips=.build/debug/lips
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/tiny.yaml" <<'YAML'
dataset: synthetic
synthetic_shape: 3x8x8
synthetic_classes: 4
synthetic_train: 400
synthetic_test: 200
model: cnn
clients: 4
train_num: 16
test_num: 10
rounds: 6
batch_size: 8
YAML

# 1. The reader of the progress lines quits after one line; the run goes on to its last round.
set +o pipefail
"$lips" run --config "$out/tiny.yaml" --out "$out/piped" --progress 2>&1 | head -1 >/dev/null
status=${PIPESTATUS[0]}
set -o pipefail
[ "$status" = 0 ] || fail "a run whose progress pipe closed exited with status $status"
[ "$(rounds_written "$out/piped")" = 6 ] || fail "a run whose progress pipe closed wrote $(rounds_written "$out/piped") of 6 rounds"

# 2. SIGINT after the first round: checkpoint, status 75; the rerun finishes.
"$lips" run --config "$out/tiny.yaml" --set rounds=400 --out "$out/stopped" --quiet 2>/dev/null &
run=$!
until [ "$(rounds_written "$out/stopped")" -ge 1 ] || ! kill -0 "$run" 2>/dev/null; do sleep 0.2; done
kill -INT "$run"
wait "$run" && status=0 || status=$?
[ "$status" = 75 ] || fail "a run stopped by SIGINT exited with status $status, expected 75"
[ -f "$out/stopped/checkpoint.bin" ] || fail "a run stopped by SIGINT left no checkpoint"

# 3. While the stopped run runs again, a second process on its folder is refused.
before=$(rounds_written "$out/stopped")
"$lips" run --out "$out/stopped" --quiet 2>/dev/null &
run=$!
until [ "$(rounds_written "$out/stopped")" -gt "$before" ] || ! kill -0 "$run" 2>/dev/null; do sleep 0.2; done
config_before=$(md5sum <"$out/stopped/config.yaml")
if "$lips" run --config "$out/tiny.yaml" --set rounds=400 --out "$out/stopped" --quiet 2>"$out/second.err"; then
    fail "a second run on a folder in use was not refused"
fi
grep -q "^lips: error: $out/stopped is in use by another lips process (pid $run)" "$out/second.err" \
    || fail "no one-line 'in use' refusal: $(head -2 "$out/second.err")"
[ "$(wc -l <"$out/second.err")" = 1 ] || fail "the refusal is not one line"
[ "$(md5sum <"$out/stopped/config.yaml")" = "$config_before" ] || fail "the refused run changed config.yaml"
kill -TERM "$run"
wait "$run" || true
before=$(rounds_written "$out/stopped")
"$lips" run --out "$out/stopped" --quiet 2>/dev/null &
run=$!
until [ "$(rounds_written "$out/stopped")" -gt "$before" ] || ! kill -0 "$run" 2>/dev/null; do sleep 0.2; done
kill -TERM "$run"
wait "$run" && status=0 || status=$?
[ "$status" = 75 ] || fail "the folder did not run again after its holder ended (status $status)"

# 4. Bad command lines: one line on stderr, status 2, nothing written.
expect_refusal() {  # message, then the lips arguments
    local message=$1; shift
    if (cd "$out" && "$OLDPWD/$lips" "$@" >"$out/refusal.out" 2>"$out/refusal.err"); then
        fail "lips $* was accepted"
        return
    fi
    [ "$(wc -l <"$out/refusal.err")" = 1 ] && grep -q "^lips: error: $message" "$out/refusal.err" \
        || fail "lips $*: expected one line 'lips: error: $message', got: $(head -3 "$out/refusal.err")"
}
expect_refusal "--workers must be ≥ 0, got -1" run --config tiny.yaml --workers -1 --out neg
expect_refusal "--out is empty" run --config tiny.yaml --out ""
expect_refusal "config: 'batch_size' must be between 1 and train_num (16), found 32" run --config tiny.yaml --set batch_size=32 --out big
expect_refusal "train_num 1000000 must be between 1 and the 60000 train samples of synthetic train" data stats --dataset synthetic --train-num 1000000
expect_refusal "unknown metric 'accuracy'; valid: density, received_density," plot stopped --metric accuracy --out plots
[ ! -e "$out/neg" ] && [ ! -e "$out/big" ] || fail "a refused run created its folder"
[ -z "$(ls -A "$out" | grep -v '^\(tiny.yaml\|piped\|stopped\|second.err\|refusal.out\|refusal.err\)$')" ] \
    || fail "a refused command wrote into the current folder: $(ls -A "$out" | tr '\n' ' ')"

# 5. --version names the commit the binary was built from; `make install` puts that binary under
#    PREFIX/bin (-o build: the debug binary just built stands in for the release one) and
#    `make uninstall` removes it; the finished run has a provenance with one session per lips run.
version=$("$lips" --version)
if head=$(git rev-parse HEAD 2>/dev/null); then
    [ "$version" = "lips $(sed -n 's/.*number = "\(.*\)"/\1/p' Sources/LIPS/Support/EngineVersion.swift) (commit $head)" ] \
        || fail "lips --version printed '$version', expected the version and commit $head"
fi
make -s -o build install PREFIX="$out/prefix" LIPS="$lips" >/dev/null || fail "make install failed"
[ "$("$out/prefix/bin/lips" --version 2>&1)" = "$version" ] || fail "make install did not install the built lips into PREFIX/bin"
make -s uninstall PREFIX="$out/prefix" >/dev/null && [ ! -e "$out/prefix/bin/lips" ] || fail "make uninstall left PREFIX/bin/lips"
[ "$(grep -c '"started"' "$out/stopped/provenance.json")" -ge 3 ] \
    || fail "the stopped and resumed run's provenance.json has fewer than 3 sessions"

if [ "$failures" -gt 0 ]; then
    echo "Tests/CLI/check.sh: $failures failure(s)" >&2
    exit 1
fi
# 6. SCAFFOLD with local momentum runs, with one note on stderr even with --quiet; with momentum 0, none.
"$lips" run --config "$out/tiny.yaml" --set algorithm=scaffold --set rounds=1 --quiet --out "$out/scaffold" 2>"$out/scaffold.err" \
    || fail "a SCAFFOLD run failed: $(head -2 "$out/scaffold.err")"
grep -q "^lips: note: scaffold with momentum 0.9: its control variates come out about 10 times too large" "$out/scaffold.err" \
    || fail "SCAFFOLD with momentum 0.9 gave no note: $(head -2 "$out/scaffold.err")"
"$lips" run --config "$out/tiny.yaml" --set algorithm=scaffold --set momentum=0 --set rounds=1 --quiet --out "$out/scaffold-sgd" 2>"$out/scaffold.err" \
    || fail "a SCAFFOLD run with momentum 0 failed: $(head -2 "$out/scaffold.err")"
[ ! -s "$out/scaffold.err" ] || fail "SCAFFOLD with momentum 0 wrote to stderr: $(head -2 "$out/scaffold.err")"

echo "Tests/CLI/check.sh: CLI checks passed (closed pipe, graceful stop, folder in use, bad command lines, version, install, provenance, SCAFFOLD note)"
