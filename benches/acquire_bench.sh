#!/usr/bin/env bash
# Salvor acquisition benchmark: `salvor image` with MD5+SHA-1+SHA-256 (and with BLAKE3 added)
# against dc3dd with the same hashes, dcfldd with the same hashes, GNU ddrescue and `dd bs=1M`,
# on one source read as a file and through a read-only loop device.
#
#   benches/acquire_bench.sh                 1 GiB source (bench-cache/acq-src-1024.img)
#   BENCH_MIB=256 benches/acquire_bench.sh   quicker
#
# Environment:
#   BENCH_MIB      source size in MiB (default 1024); random bytes, cached in bench-cache/ (gitignored)
#   BENCH_REPEAT   runs per tool and source, median reported (default 3)
#   BENCH_DEST     folder for the images (default /dev/shm/salvor-acq-bench: a tmpfs, so the
#                  destination disk's speed and fsync cost do not enter the figures)
#   SALVOR_BIN     salvor binary; unset: `cargo build --release` once
#   BENCH_NO_LOOP=1  skip the loop-device half (it needs root and losetup)
#
# Cache state: the source file is read once before the runs, so the file half measures a warm
# page cache (the read path, hashing and copying, not the disk). Through the loop device, tools
# that use direct I/O (salvor: O_DIRECT on block devices; ddrescue -d) bypass the loop device's
# own cache but the backing file is still cached; dd, dc3dd and dcfldd read through the loop
# device's page cache, which is dropped before each run (`blockdev --flushbufs`).
# Throughput = source bytes / wall seconds. Table: stdout and bench-cache/acquire-bench.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIB=${BENCH_MIB:-1024}
REPS=${BENCH_REPEAT:-3}
DEST=${BENCH_DEST:-/dev/shm/salvor-acq-bench}
CACHE=$ROOT/bench-cache
SRC=$CACHE/acq-src-$MIB.img
OUT=$CACHE/acquire-bench.md

die() { echo "acquire_bench: $*" >&2; exit 2; }
[[ $MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_MIB must be a positive integer"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer"
for t in dc3dd dcfldd ddrescue dd python3; do
    command -v $t >/dev/null || die "$t missing (apt-get install -y dc3dd dcfldd gddrescue)"
done

if [[ -z ${SALVOR_BIN:-} ]]; then
    (cd "$ROOT" && cargo build --release -q) || die "cargo build --release failed"
    SALVOR_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/salvor
fi

mkdir -p "$CACHE" "$DEST"
if [[ ! -f $SRC ]]; then
    echo "== making a $MIB MiB random source: $SRC" >&2
    head -c $((MIB << 20)) /dev/urandom >"$SRC.tmp" && mv "$SRC.tmp" "$SRC"
fi
cat "$SRC" >/dev/null # warm the page cache

LOOP=
cleanup() { [[ -n $LOOP ]] && losetup -d "$LOOP"; rm -rf "$DEST"; }
trap cleanup EXIT

# run NAME SOURCE COMMAND...: median wall seconds over REPS runs; fresh destination each time.
run() {
    local name=$1 src=$2; shift 2
    local times=()
    for _ in $(seq "$REPS"); do
        rm -rf "${DEST:?}"/*
        [[ -b $src ]] && blockdev --flushbufs "$src" 2>/dev/null || true
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >"$DEST.log" 2>&1 || { local rc=$?; [[ $rc -eq 1 && $name == salvor* ]] || { cat "$DEST.log" >&2; die "$name failed ($rc)"; }; }
        t1=$(date +%s.%N)
        times+=("$(python3 -c "print($t1-$t0)")")
    done
    python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "${times[@]}"
}

declare -A SECS
bench_source() {
    local kind=$1 src=$2 direct=()
    [[ -b $src ]] && direct=(-d)
    SECS[$kind,salvor-3]=$(run salvor-3 "$src" "$SALVOR_BIN" -q image "$src" "$DEST/s.img" --hash md5,sha1,sha256)
    SECS[$kind,salvor-4]=$(run salvor-4 "$src" "$SALVOR_BIN" -q image "$src" "$DEST/s.img" --hash md5,sha1,sha256,blake3)
    SECS[$kind,dc3dd]=$(run dc3dd "$src" dc3dd if="$src" of="$DEST/d.img" hash=md5 hash=sha1 hash=sha256 nwspc=on)
    SECS[$kind,dcfldd]=$(run dcfldd "$src" dcfldd if="$src" of="$DEST/f.img" bs=1M hash=md5,sha1,sha256)
    SECS[$kind,ddrescue]=$(run ddrescue "$src" ddrescue -q "${direct[@]}" "$src" "$DEST/r.img" "$DEST/r.map")
    SECS[$kind,dd]=$(run dd "$src" dd if="$src" of="$DEST/dd.img" bs=1M status=none)
}

bench_source file "$SRC"
KINDS=(file)
if [[ -z ${BENCH_NO_LOOP:-} ]] && LOOP=$(losetup -r -f --show "$SRC" 2>/dev/null); then
    bench_source loop "$LOOP"
    KINDS+=(loop)
else
    echo "acquire_bench: loop device skipped (needs root and losetup)" >&2
fi

{
    echo "# Acquisition benchmark"
    echo
    echo "$(date -u +%FT%TZ), $(nproc) cores, source $MIB MiB random bytes, median of $REPS runs,"
    echo "images written to $DEST. Cache: source file warm in the page cache; loop device read-only"
    echo "over that file (salvor uses O_DIRECT on it, ddrescue -d; dd/dc3dd/dcfldd read through the"
    echo "loop device's cache, flushed before each run). Command: BENCH_MIB=$MIB BENCH_REPEAT=$REPS benches/acquire_bench.sh"
    echo
    echo "| tool | hashes | source | seconds | MiB/s | vs dc3dd |"
    echo "|---|---|---|---:|---:|---:|"
    for k in "${KINDS[@]}"; do
        for t in salvor-3 salvor-4 dc3dd dcfldd ddrescue dd; do
            s=${SECS[$k,$t]}
            case $t in
                salvor-3|dc3dd|dcfldd) h="md5 sha1 sha256" ;;
                salvor-4) h="md5 sha1 sha256 blake3" ;;
                *) h="none" ;;
            esac
            python3 -c "
s=$s; d=${SECS[$k,dc3dd]}; print('| $t | $h | $k | %.2f | %.0f | %.2fx |' % (s, $MIB/s, d/s))"
        done
    done
    echo
    for k in "${KINDS[@]}"; do
        python3 -c "
s3=${SECS[$k,salvor-3]}; s4=${SECS[$k,salvor-4]}; d=${SECS[$k,dc3dd]}
print('$k: salvor (md5+sha1+sha256) is %.2fx dc3dd (target >= 2x: %s); adding blake3 costs %+.1f%% (target < 5%%: %s)' % (d/s3, 'met' if d/s3>=2 else 'MISSED', (s4/s3-1)*100, 'met' if s4/s3<1.05 else 'MISSED'))"
    done
} | tee "$OUT"
