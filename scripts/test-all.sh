#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run):
#   1. release build (gcc): unit, install/pkg-config, fuzz-corpus replay and interop tests
#   2. the unit tests again under valgrind (leaks and invalid accesses are failures)
#   3. sanitizer build (clang, ASan + UBSan): every test but interop
#   4. libFuzzer build (clang): each fuzz target for FUZZ_SECONDS (default 15) from its corpus
# Ends with one line "N passed, N failed" (and skipped) counted over all phases.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_seconds=${FUZZ_SECONDS:-15}
jobs=${JOBS:-$(nproc)}

scripts/bootstrap.sh || exit 1

total_pass=0
total_fail=0
total_skip=0
failed_names=()

count_log() { # count_log PHASE JSONLOG
    local phase=$1 log=$2
    if [ ! -f "$log" ]; then
        echo "[$phase] no test log: the phase did not run" >&2
        total_fail=$((total_fail + 1))
        failed_names+=("$phase: did not run")
        return
    fi
    local out
    out=$(/usr/bin/python3 - "$log" "$phase" <<'PY'
import json, sys
p = f = s = 0
names = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    res = r.get("result")
    if res in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif res == "SKIP":
        s += 1
    else:
        f += 1
        names.append(sys.argv[2] + ": " + r.get("name", "?") + " (" + str(res) + ")")
print(p, f, s)
for n in names:
    print(n)
PY
)
    local first rest
    first=$(head -n 1 <<<"$out")
    rest=$(tail -n +2 <<<"$out")
    read -r p f s <<<"$first"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    total_skip=$((total_skip + s))
    [ -n "$rest" ] && while IFS= read -r n; do failed_names+=("$n"); done <<<"$rest"
    echo "[$phase] $p passed, $f failed, $s skipped"
}

phase_fail() {
    total_fail=$((total_fail + 1))
    failed_names+=("$1")
    echo "[$1] FAILED"
}

setup() { # setup DIR [meson args...]; reuses DIR when its options match
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null || meson setup --wipe "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

echo "== 0/4 clang-format"
unformatted=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
if [ "$unformatted" = 0 ]; then
    echo "[format] ok"
    total_pass=$((total_pass + 1))
else
    phase_fail "format: $unformatted lines differ from .clang-format (run make format)"
fi

echo "== 1/4 release build (gcc) and tests"
if CC=gcc CXX=g++ setup build/release -Dbuildtype=debugoptimized && ninja -C build/release >/dev/null; then
    meson test -C build/release --no-rebuild --print-errorlogs --num-processes "$jobs" \
        --logbase release >build/release-test.txt 2>&1
    tail -n 12 build/release-test.txt | grep -E '^(Ok|Fail|Skipped|Timeout)' || true
    grep -E '(FAIL|TIMEOUT|ERROR) ' build/release-test.txt | head -n 20 || true
    count_log release build/release/meson-logs/release.json
else
    phase_fail "release build"
fi

echo "== 2/4 unit tests under valgrind"
if [ -f build/release/build.ninja ] && command -v valgrind >/dev/null; then
    meson test -C build/release --no-rebuild --suite unit --print-errorlogs \
        --num-processes "$jobs" --timeout-multiplier 10 --logbase valgrind \
        --wrapper "valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect" \
        >build/valgrind-test.txt 2>&1
    grep -E '(FAIL|TIMEOUT|ERROR) ' build/valgrind-test.txt | head -n 20 || true
    count_log valgrind build/release/meson-logs/valgrind-valgrind.json
else
    phase_fail "valgrind"
fi

echo "== 3/4 sanitizer build (clang, ASan+UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if CC=clang CXX=clang++ setup build/sanitize -Db_sanitize=address,undefined -Db_lundef=false \
    -Dinterop=false -Dbench=false && ninja -C build/sanitize >/dev/null; then
    meson test -C build/sanitize --no-rebuild --print-errorlogs --num-processes "$jobs" \
        --no-suite install --logbase sanitize >build/sanitize-test.txt 2>&1
    grep -E '(FAIL|TIMEOUT|ERROR) ' build/sanitize-test.txt | head -n 20 || true
    count_log sanitize build/sanitize/meson-logs/sanitize.json
else
    phase_fail "sanitize build"
fi

echo "== 4/4 libFuzzer, ${fuzz_seconds}s per target"
scripts/fuzz.sh "$fuzz_seconds" >build/fuzz-run.txt 2>&1
cat build/fuzz-run.txt
while IFS= read -r line; do
    case "$line" in
    "[fuzz] "*": ok"*) total_pass=$((total_pass + 1)) ;;
    "[fuzz] "*"FAILED"*)
        total_fail=$((total_fail + 1))
        failed_names+=("${line%%,*}")
        ;;
    esac
done <build/fuzz-run.txt

echo
if [ ${#failed_names[@]} -gt 0 ]; then
    echo "Failures:"
    printf '  %s\n' "${failed_names[@]}"
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
