#!/usr/bin/env bash
# Builds and runs the fuzz targets in tests/fuzz/ (fuzz_frame: request
# frames through the generated codecs; fuzz_records: Produce records
# through gr_records_validate and the record iterator).
#
#   scripts/fuzz.sh                 both targets, FUZZ_SECONDS (30) each
#   FUZZ_SECONDS=300 scripts/fuzz.sh fuzz_frame
#
# With clang and libFuzzer: -fsanitize=fuzzer,address,undefined, run over a
# copy of the seed corpus in build/fuzz/corpus/<target>/ (which keeps what
# libFuzzer finds between runs). Without libFuzzer: the same targets linked
# with tests/fuzz/standalone_main.c under gcc + ASan/UBSan, replaying the
# corpus and random mutations of it. Targets run in parallel, one per core.
# Inputs in tests/fuzz/regress/<corpus>/ (bugs found before, one file each)
# are replayed first; one that still fails is reported and makes the exit
# status non-zero, but fuzzing goes on.
# Exits non-zero if a target crashes, and prints the crashing input's path
# and bytes; reproduce with build/fuzz/<target> <path>.
#
# Environment: FUZZ_SECONDS, FUZZ_JOBS (parallel targets, default nproc),
# FUZZ_ENGINE=libfuzzer|standalone (default: libfuzzer when it works).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-30}
OUT=build/fuzz
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(fuzz_frame fuzz_records)
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

# The library code a target needs; not all of src/, so a half-finished file
# elsewhere cannot stop fuzzing.
LIB_SRCS=(src/base/arena.c src/base/buf.c src/base/splice.c src/base/crc32c.c src/base/err.c src/base/log.c src/base/clock.c
          src/protocol/codec.c src/protocol/records.c src/protocol/downconvert.c src/protocol/compress.c src/protocol/errors.c
          build/gen/kafka_msgs.c)
LIBS=(-lz -llz4 -lzstd -lsnappy -lpthread -lm)
CFLAGS=(-std=c17 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -Isrc -Ibuild/gen)
TARGET_WARN=(-Wall -Wextra -Werror -Wno-unused-parameter)

make -s build/gen/kafka_msgs.h >/dev/null

pick_engine() {
    if [ -n "${FUZZ_ENGINE:-}" ]; then echo "$FUZZ_ENGINE"; return; fi
    if command -v clang >/dev/null; then
        local t
        t=$(mktemp -d)
        printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
            >"$t/t.c"
        if clang -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" 2>/dev/null; then
            rm -rf "$t"
            echo libfuzzer
            return
        fi
        rm -rf "$t"
    fi
    echo standalone
}
ENGINE=$(pick_engine)
if [ "$ENGINE" = libfuzzer ]; then
    CC=clang
    SAN_LIB=(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
    SAN_LINK=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
    DRIVER=()
else
    [ -n "${FUZZ_ENGINE:-}" ] ||
        echo "fuzz.sh: libFuzzer not available (clang -fsanitize=fuzzer failed); using the standalone driver" >&2
    CC=${CC_STANDALONE:-gcc}
    SAN_LIB=(-fsanitize=address,undefined -fno-sanitize-recover=all)
    SAN_LINK=("${SAN_LIB[@]}")
    DRIVER=(tests/fuzz/standalone_main.c)
fi

# Library objects, rebuilt when their source or a header is newer.
OBJ=$OUT/obj-$ENGINE
mkdir -p "$OBJ" "$OUT/artifacts"
newest_header=$(ls -t src/*/*.h build/gen/kafka_msgs.h | head -1)
objs=()
pids=()
for src in "${LIB_SRCS[@]}"; do
    o=$OBJ/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
    objs+=("$o")
    if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ "$newest_header" -nt "$o" ]; then
        $CC "${CFLAGS[@]}" "${SAN_LIB[@]}" -Wno-unused-function -c "$src" -o "$o" &
        pids+=($!)
    fi
done
for p in "${pids[@]}"; do wait "$p"; done

for t in "${TARGETS[@]}"; do
    $CC "${CFLAGS[@]}" "${TARGET_WARN[@]}" "${SAN_LINK[@]}" "tests/fuzz/$t.c" "${DRIVER[@]}" "${objs[@]}" \
        "${LIBS[@]}" -o "$OUT/$t"
done

corpus_of() { case $1 in fuzz_frame) echo frame ;; fuzz_records) echo records ;; *) echo "$1" ;; esac; }

run_one() {
    local t=$1
    local corpus=$OUT/corpus/$t art=$OUT/artifacts/$t/
    mkdir -p "$corpus" "$art"
    cp -n "tests/fuzz/corpus/$(corpus_of "$t")"/* "$corpus"/ 2>/dev/null || true
    if [ "$ENGINE" = libfuzzer ]; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
            "$OUT/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$art" "$corpus"
    else
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
            "$OUT/$t" -t "$SECONDS_EACH" -o "$art" "$corpus"
    fi
}

report_crash() {
    local t=$1
    local art=$OUT/artifacts/$t f
    f=$(ls -t "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-* "$art"/current-input 2>/dev/null | head -1 || true)
    echo "== $t: FAILED (log: $OUT/$t.log)"
    grep -E "ERROR: |runtime error|SUMMARY|fuzz_(frame|records): " "$OUT/$t.log" | head -5 || true
    if [ -n "$f" ]; then
        if [ "$(basename "$f")" = current-input ]; then
            cp "$f" "$art/crash-standalone-$(date +%s)"
            f=$(ls -t "$art"/crash-standalone-* | head -1)
        fi
        echo "   crashing input: $f ($(stat -c %s "$f") bytes)"
        echo "   hex: $(head -c 512 "$f" | od -An -tx1 | tr -d ' \n')"
        echo "   reproduce: $OUT/$t $f"
    fi
}

status=0
for t in "${TARGETS[@]}"; do
    for f in tests/fuzz/regress/"$(corpus_of "$t")"/*; do
        [ -f "$f" ] || continue
        if [ "$ENGINE" = libfuzzer ]; then
            cmd=("$OUT/$t" "$f")
        else
            cmd=("$OUT/$t" -n 0 "$f")
        fi
        if ! "${cmd[@]}" >"$OUT/regress.log" 2>&1; then
            echo "== $t: regression input still fails: $f"
            grep -E "ERROR: |runtime error|fuzz_(frame|records): " "$OUT/regress.log" | head -3 | sed 's/^/   /'
            status=1
        fi
    done
done

echo "fuzz.sh: engine $ENGINE, ${SECONDS_EACH}s per target, $JOBS at a time: ${TARGETS[*]}"
running=()
names=()
for t in "${TARGETS[@]}"; do
    run_one "$t" >"$OUT/$t.log" 2>&1 &
    running+=($!)
    names+=("$t")
    if [ ${#running[@]} -ge "$JOBS" ]; then
        if ! wait "${running[0]}"; then report_crash "${names[0]}"; status=1; else
            echo "== ${names[0]}: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+|[0-9]+ mutations' "$OUT/${names[0]}.log" | tail -1))"; fi
        running=("${running[@]:1}")
        names=("${names[@]:1}")
    fi
done
for i in "${!running[@]}"; do
    if ! wait "${running[$i]}"; then report_crash "${names[$i]}"; status=1; else
        echo "== ${names[$i]}: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+|[0-9]+ mutations' "$OUT/${names[$i]}.log" | tail -1))"; fi
done
exit $status
