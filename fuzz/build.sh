#!/bin/sh
# Build and run the libFuzzer targets (fuzz/fuzz_*.c).  See fuzz/README.md.
#
#   fuzz/build.sh                 build the library with clang + ASan/UBSan +
#                                 fuzzer coverage into build-fuzz/, link every target
#   fuzz/build.sh run [SECONDS]   build, then fuzz each target SECONDS (default 60)
#                                 from a scratch copy of its corpus; a crash fails
#                                 the run and its input is kept in fuzz/regressions/NAME/
#   fuzz/build.sh regress         build, then run each target once over its corpus
#                                 and its regressions (no fuzzing); for the test suite
#
# Environment: CC (default clang), JOBS (make -j), FUZZ_TARGETS (names, default all),
# FUZZ_ARGS (extra libFuzzer flags for `run`), FUZZ_NO_MAKE=1 (keep the built library).
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=build-fuzz
CC=${CC:-clang}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
SAN='-fsanitize=address,undefined'
LIBS='-lyaml -ljansson -lpcre2-8 -lxxhash -lnghttp2 -lcurl -lssl -lcrypto -lpthread -lm'
LLHTTP_INC=${LLHTTP_INC:-/usr/share/include/llhttp}

mode=${1:-build}
case $mode in
build|run|regress) ;;
*) echo "usage: $0 [build | run [SECONDS] | regress]" >&2; exit 2 ;;
esac

targets=${FUZZ_TARGETS:-$(for f in fuzz/fuzz_*.c; do n=${f#fuzz/fuzz_}; echo "${n%.c}"; done)}

# ---- build ----
# The Makefile's SAN=1 adds ASan+UBSan (and -fno-sanitize-recover=undefined);
# EXTRA_CFLAGS adds the coverage instrumentation libFuzzer needs.
# FUZZ_NO_MAKE=1 reuses the library already in build-fuzz/ (quick harness edits).
if [ -z "${FUZZ_NO_MAKE:-}" ] || [ ! -f $BUILD/libswitchyard.a ]; then
    make -s -j"$JOBS" BUILD=$BUILD CC="$CC" OPT=-O1 SAN=1 \
        EXTRA_CFLAGS='-fsanitize=fuzzer-no-link' $BUILD/libswitchyard.a
fi

for t in $targets; do
    src=fuzz/fuzz_$t.c
    bin=$BUILD/fuzz_$t
    if [ ! -f "$bin" ] || [ "$src" -nt "$bin" ] || [ fuzz/fuzz_net.h -nt "$bin" ] ||
       [ $BUILD/libswitchyard.a -nt "$bin" ]; then
        echo "  LINK  $bin"
        $CC -std=gnu11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE -Wall -Wextra \
            -Wno-unused-parameter -Wno-unused-function \
            -fsanitize=fuzzer $SAN -fno-sanitize-recover=undefined \
            -Isrc -Ifuzz -I"$LLHTTP_INC" "$src" $BUILD/libswitchyard.a $LIBS -o "$bin"
    fi
done

[ "$mode" = build ] && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for t in $targets; do
    bin=$ROOT/$BUILD/fuzz_$t
    corpus=$ROOT/fuzz/corpus/$t
    regs=$ROOT/fuzz/regressions/$t
    dict=$ROOT/fuzz/$t.dict
    dictarg=
    [ -f "$dict" ] && dictarg="-dict=$dict"
    mkdir -p "$corpus"

    if [ "$mode" = regress ]; then
        # Every file once, no fuzzing; regressions first so an old crash
        # is named as such.
        n=$(find "$regs" "$corpus" -type f 2>/dev/null | wc -l)
        if [ "$n" -eq 0 ]; then
            echo "fuzz regress $t: no inputs"
            continue
        fi
        log=$(mktemp)
        # Files as arguments: libFuzzer runs each once and stops at the first failure.
        if find "$regs" "$corpus" -type f -print0 2>/dev/null | sort -z |
                xargs -0 "$bin" >"$log" 2>&1; then
            echo "fuzz regress $t: $n inputs ok"
        else
            echo "fuzz regress $t: FAILED" >&2
            tail -n 60 "$log" >&2
            status=1
        fi
        rm -f "$log"
        continue
    fi

    secs=${2:-60}
    work=$(mktemp -d "${TMPDIR:-/tmp}/sy-fuzz-$t.XXXXXX")
    mkdir -p "$work/corpus" "$work/artifacts"
    cp -R "$corpus/." "$work/corpus/" 2>/dev/null || true
    [ -d "$regs" ] && cp -R "$regs/." "$work/corpus/" 2>/dev/null || true
    echo "fuzz run $t: ${secs}s"
    log=$work/log
    # shellcheck disable=SC2086
    if (cd "$work" && "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$work/artifacts/" -print_final_stats=1 $dictarg ${FUZZ_ARGS:-} \
            "$work/corpus" >"$log" 2>&1); then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
        echo "fuzz run $t: ok, ${execs:-?} executions, $cov"
        rm -rf "$work"
    else
        echo "fuzz run $t: FAILED" >&2
        grep -A 40 -m 1 -E '^==[0-9]+==ERROR|runtime error|fuzz invariant violated|deadly signal|timeout after|out-of-memory' "$log" >&2 || tail -n 60 "$log" >&2
        mkdir -p "$regs"
        for a in "$work"/artifacts/*; do
            [ -f "$a" ] || continue
            base=$(basename "$a")
            cp "$a" "$regs/$base"
            echo "fuzz run $t: kept $base in fuzz/regressions/$t/ (log: $log)" >&2
        done
        status=1
    fi
done
exit $status
