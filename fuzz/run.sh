#!/usr/bin/env bash
# fuzz/run.sh SECONDS [TARGET...]: builds each libFuzzer target (fuzz/*.cpp) with
# clang++ and AddressSanitizer + UndefinedBehaviorSanitizer, then runs it for
# SECONDS on its seed corpus (fuzz/corpus/TARGET), the regressions
# (fuzz/regressions/TARGET) and what earlier runs found (build-fuzz/corpus/TARGET).
# A crash stops that target; its input is saved under build-fuzz/findings/TARGET/.
# Exit status: 0 when no target found anything. Needs clang++ and
# libclang-rt-14-dev (libFuzzer's runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
    echo "usage: fuzz/run.sh SECONDS [TARGET...]  (SECONDS: a whole number >= 1, got '$seconds')" >&2
    exit 2
fi
targets=("$@")
if (( ${#targets[@]} == 0 )); then
    for source in fuzz/*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi

out=${KILN_FUZZ_DIR:-build-fuzz}
cxx=${KILN_FUZZ_CXX:-clang++}
mkdir -p "$out"
# The compiler's default SIMD target (the readers fuzzed here do no vector arithmetic),
# without kiln's note that it is SSE2.
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -DKILN_ALLOW_BASELINE_SIMD -Iinclude -Ifuzz)
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
        "$cxx" -x c++ -fsanitize=fuzzer - -o "$out/.probe" 2>/dev/null; then
    echo "fuzz/run.sh: $cxx cannot build a libFuzzer target: install clang and libclang-rt-14-dev" >&2
    exit 2
fi

status=0
summary=()
for target in "${targets[@]}"; do
    binary="$out/$target"
    # Sources a target needs besides its own: a line "// fuzz/run.sh links: FILE..." in it.
    read -r -a links <<<"$(sed -n 's|^// fuzz/run.sh links: ||p' "fuzz/$target.cpp")"
    # Rebuild when the target, what it links or any kiln header is newer than the binary.
    if [[ ! -x $binary ]] || [[ -n $(find "fuzz/$target.cpp" fuzz/targets.hpp include examples/common "${links[@]}" -newer "$binary" -print -quit) ]]; then
        echo "fuzz: building $target"
        build_start=$SECONDS
        "$cxx" "${flags[@]}" "fuzz/$target.cpp" "${links[@]}" -o "$binary" -lz -pthread
        echo "fuzz: built $target in $((SECONDS - build_start)) s"
    fi
    mkdir -p "$out/corpus/$target" "$out/findings/$target" "fuzz/regressions/$target"
    log="$out/$target.log"
    echo "fuzz: running $target for $seconds s"
    set +e
    # -malloc_limit_mb: inputs are small (a few KiB), so one allocation of more
    # than 64 MiB means a reader believed a header over the data it holds.
    ASAN_OPTIONS=detect_leaks=1 "$binary" -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=64 -artifact_prefix="$out/findings/$target/" \
        "$out/corpus/$target" "fuzz/corpus/$target" "fuzz/regressions/$target" >"$log" 2>&1
    result=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    corpus=$(find "$out/corpus/$target" -type f | wc -l)
    if (( result != 0 )); then
        status=1
        echo "fuzz: $target FOUND A PROBLEM (exit $result); the last lines of $log:"
        tail -n 30 "$log"
        echo "fuzz: the input is in $out/findings/$target/; once fixed, copy it to" \
             "fuzz/regressions/$target/ so that the unit tests replay it"
        summary+=("$target: $runs executions, FOUND A PROBLEM (see $log)")
    else
        summary+=("$target: $runs executions in $seconds s, $corpus inputs in the corpus, no problem found")
    fi
done
printf 'fuzz: %s\n' "${summary[@]}"
exit $status
