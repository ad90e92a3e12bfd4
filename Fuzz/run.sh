#!/usr/bin/env bash
# Runs the libFuzzer targets built in Fuzz/.build (see the Makefile's `fuzz`), each for
# FUZZ_SECONDS from its seed corpus Fuzz/Corpus/NAME, prints one line per target and a closing
# "fuzz: N passed, M failed". Exits 1 if any target found a crash: a trap (overflow, bounds, fatalError), an AddressSanitizer report, an
# input slower than FUZZ_TIMEOUT seconds or one allocation or resident set beyond FUZZ_RSS_MB.
#
# New inputs go to Fuzz/.build/corpus/NAME (kept between runs, never into the committed seeds);
# the input that crashed is written to Fuzz/.build/artifacts/NAME-crash-… (or -timeout-, -oom-),
# and `Fuzz/.build/CONFIG/fuzz-NAME FILE` replays it. The full logs are Fuzz/.build/logs/NAME.log.
#
#   Fuzz/run.sh [NAME...]      default: every target
set -uo pipefail
cd "$(dirname "$0")"

SECONDS_EACH=${FUZZ_SECONDS:-30}
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}
CONFIG=${FUZZ_CONFIG:-release}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(idx cifar tinyimagenet jpeg png npy config sweep checkpoint)

# Largest input each target may be given: a few records or images, a config file.
max_len() {
    case $1 in
        cifar) echo 8192 ;;
        tinyimagenet) echo 32768 ;;
        *) echo 4096 ;;
    esac
}

# Swift's own crash reporter would race ASan and libFuzzer for the crash report; theirs name the input.
export SWIFT_BACKTRACE=enable=no
mkdir -p .build/corpus .build/artifacts .build/logs
failed=0
passed=0
printf '%-13s %8s %10s %9s %7s %s\n' target seconds executions "exec/s" "cov" result
for name in "${TARGETS[@]}"; do
    binary=.build/$CONFIG/fuzz-$name
    if [ ! -x "$binary" ]; then
        echo "Fuzz/run.sh: $binary not built (make fuzz builds it)" >&2
        exit 2
    fi
    mkdir -p ".build/corpus/$name"
    dictionary=()
    case $name in config|sweep) dictionary=(-dict=Dictionaries/yaml.dict) ;; esac
    log=.build/logs/$name.log
    start=$(date +%s)
    "$binary" ".build/corpus/$name" "Corpus/$name" "${dictionary[@]}" \
        -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
        -max_len="$(max_len "$name")" -print_final_stats=1 -artifact_prefix=".build/artifacts/$name-" \
        >"$log" 2>&1
    status=$?
    elapsed=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    if [ $status -eq 0 ]; then
        result=ok
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        artifact=$(sed -n "s/.*Test unit written to //p" "$log" | tail -1)
        result="FAILED (status $status; input ${artifact:-?}; log Fuzz/$log)"
        # The report: the sanitizer's or libFuzzer's summary and the first frames.
        grep -E 'ERROR|SUMMARY|Fatal error|runtime failure| #[0-9] ' "$log" | head -20 >&2
    fi
    printf '%-13s %8s %10s %9s %7s %s\n' "$name" "$elapsed" "${runs:-?}" "${rate:-?}" "${coverage:-?}" "$result"
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
