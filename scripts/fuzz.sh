#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build/fuzz and runs each for SECONDS
# (default 15), starting from its committed seed corpus; new inputs go to build/fuzz/corpus-*,
# crashes to build/fuzz/artifacts/. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
shift || true
dir=build/fuzz
if [ -f $dir/build.ninja ]; then
    CC=clang meson setup --reconfigure $dir >/dev/null
else
    CC=clang CXX=clang++ meson setup $dir -Dfuzz=enabled -Dtests=false -Dexamples=false \
        -Dbench=false -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi || { echo "[fuzz] build: FAILED (configure)"; exit 1; }
ninja -C $dir >/dev/null || { echo "[fuzz] build: FAILED"; exit 1; }
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for bin in $dir/fuzz/fuzz_*; do
        # Skip meson's object directories (fuzz_X.p).
        [ -f "$bin" ] && [ -x "$bin" ] && targets+=("${bin##*/fuzz_}")
    done
fi
failures=0
for name in "${targets[@]}"; do
    bin=$dir/fuzz/fuzz_$name
    mkdir -p $dir/corpus-"$name" $dir/artifacts
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix=$dir/artifacts/"$name"- $dir/corpus-"$name" fuzz/corpus/"$name" \
        >$dir/"$name".log 2>&1; then
        execs=$(grep -m1 'stat::number_of_executed_units' $dir/"$name".log | awk '{print $2}')
        echo "[fuzz] $name: ok (${execs:-?} runs in ${seconds}s)"
    else
        echo "[fuzz] $name: FAILED, log in $dir/$name.log"
        grep -E 'ERROR|SUMMARY|==[0-9]+==|#0 |#1 |#2 ' $dir/"$name".log | head -n 20
        failures=$((failures + 1))
    fi
done
exit $failures
