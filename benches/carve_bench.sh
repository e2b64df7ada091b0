#!/usr/bin/env bash
# Salvor carving benchmark: salvor vs cat (read limit), PhotoRec, foremost and
# scalpel on one generated raw image with ground truth. bash + python3 stdlib.
#
#   benches/carve_bench.sh                  2 GiB image (bench-cache/bench-2048.img)
#   BENCH_MIB=256 benches/carve_bench.sh    quick run on a 256 MiB image
#
# Environment:
#   BENCH_MIB       image size in MiB (default 2048); image + truth are cached in
#                   bench-cache/bench-$BENCH_MIB.{img,truth.json} (gitignored)
#   SALVOR_BIN      salvor binary to use; unset: `cargo build --release` once
#   BENCH_TIMEOUT   seconds per tool before it is killed (default 1800)
#   BENCH_TOOLS     subset/order of: cat salvor-report salvor-files salvor-buffered photorec
#                   foremost scalpel (salvor-buffered = --report-only --read buffered: no
#                   mmap, so its Maximum RSS is an exact, unsampled bound on salvor's heap)
#   BENCH_REPEAT    runs of cat and of each salvor mode, median reported (default 3);
#                   photorec, foremost and scalpel run once
#   BENCH_STRICT=1  exit 1 when a salvor target is missed
#
# Every run of a tool gets a fresh output dir bench-cache/runs/<UTC time>-<MIB>M/<tool>/run-<i>/out;
# its command (cmd.txt), stdout (stdout.txt), stderr (tool.log), /usr/bin/time -v
# output (time.txt), wall time (wall.txt), exit status (rc.txt) and RssAnon
# peaks (rss.json) sit beside it; <tool>/row.json holds the scored row.
# The table goes to stdout, bench-cache/carve-bench.md and the run dir.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/benches
UTIL=$HERE/bench_util.py
MIB=${BENCH_MIB:-2048}
TIMEOUT=${BENCH_TIMEOUT:-1800}
TOOLS=${BENCH_TOOLS:-cat salvor-report salvor-files salvor-buffered photorec foremost scalpel}
REPS=${BENCH_REPEAT:-3}
CACHE=$ROOT/bench-cache
IMG=$CACHE/bench-$MIB.img
TRUTH=$CACHE/bench-$MIB.truth.json

die() { echo "carve_bench: $*" >&2; exit 2; }
say() { echo "== $*"; }

[[ $MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_MIB must be a positive integer (MiB), got '$MIB'"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "BENCH_TIMEOUT must be a positive integer (seconds)"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer"
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install -y time)"
command -v python3 >/dev/null || die "python3 missing"
command -v timeout >/dev/null || die "timeout (coreutils) missing"

# The command line as given, for the report.
CMDLINE="BENCH_MIB=$MIB"
[[ -n ${SALVOR_BIN:-} ]] && CMDLINE+=" SALVOR_BIN=$SALVOR_BIN"
[[ -n ${BENCH_TIMEOUT:-} ]] && CMDLINE+=" BENCH_TIMEOUT=$TIMEOUT"
[[ -n ${BENCH_TOOLS:-} ]] && CMDLINE+=" BENCH_TOOLS='$TOOLS'"
[[ -n ${BENCH_REPEAT:-} ]] && CMDLINE+=" BENCH_REPEAT=$REPS"
CMDLINE+=" benches/carve_bench.sh"

# ---- 1. salvor binary -------------------------------------------------------
if [[ -z ${SALVOR_BIN:-} ]]; then
    say "building salvor (cargo build --release)"
    (cd "$ROOT" && timeout "$TIMEOUT" cargo build --release) || die "cargo build --release failed"
    SALVOR_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/salvor
fi
[[ -x $SALVOR_BIN ]] || die "salvor binary not executable: $SALVOR_BIN"
SALVOR_BIN=$(cd "$(dirname "$SALVOR_BIN")" && pwd)/$(basename "$SALVOR_BIN")

# ---- 2. image (cached) ------------------------------------------------------
mkdir -p "$CACHE"
img_ok() {
    [[ -s $IMG && -s $TRUTH ]] || return 1
    local want
    want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size"])' "$TRUTH" 2>/dev/null) || return 1
    [[ $(stat -c %s "$IMG") == "$want" ]]
}
if ! img_ok; then
    say "generating $IMG ($MIB MiB)"
    rm -f "$IMG" "$TRUTH"
    (cd "$ROOT" && timeout "$TIMEOUT" python3 testimages/generate.py --bench "$MIB" --out "$IMG") \
        || die "image generation failed"
    img_ok || die "generator did not produce $IMG + $TRUTH"
else
    say "using cached $IMG"
fi
IMG_SIZE=$(stat -c %s "$IMG")

# ---- run dir ----------------------------------------------------------------
RUN=$CACHE/runs/$(date -u +%Y%m%dT%H%M%SZ)-${MIB}M
mkdir -p "$RUN"
RESULTS=$RUN/results.jsonl
: >"$RESULTS"

residency() {  # bytes of IMG in the page cache, as "RES/SIZE (PCT%)"
    if command -v fincore >/dev/null; then
        fincore -b -n -o RES "$IMG" 2>/dev/null | awk -v s="$IMG_SIZE" '{printf "%.0f/%.0f bytes (%.1f%%)", $1, s, 100*$1/s}'
    else
        echo "unknown (no fincore)"
    fi
}

# ---- 3. warm the page cache -------------------------------------------------
say "warming the page cache: cat $IMG > /dev/null"
BEFORE=$(residency)
cat "$IMG" >/dev/null
AFTER=$(residency)
MEM_AVAIL=$(awk '/MemAvailable/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
CACHE_STATE="warm: image read once with cat before timing (resident before warm-up: $BEFORE; after: $AFTER; MemAvailable $MEM_AVAIL); residency re-checked before each tool"
say "cache: $CACHE_STATE"

# run_tool NAME KIND STDOUT NOTE REPS -- CMD...   (KIND: none|files|report)
# Runs `timeout $TIMEOUT /usr/bin/time -v -o D/time.txt CMD` REPS times under
# bench_util.py run (monotonic wall time, RssAnon sampled every 50 ms from the
# start), each time in a fresh dir D=$RUN/NAME/run-I; the token @D in CMD
# and STDOUT is replaced by D. The row reports the median wall time.
run_tool() {
    local name=$1 kind=$2 stdout=$3 note=$4 reps=$5
    shift 6
    local resid rc cmd i d arg dirs=() args
    resid=$(residency)
    for ((i = 1; i <= reps; i++)); do
        d=$RUN/$name/run-$i
        mkdir -p "$d/out"    # fresh, empty output dir (every tool accepts an empty one)
        args=()
        for arg in "$@"; do args+=("${arg//@D/$d}"); done
        cmd=$(printf '%q ' "${args[@]}"); cmd=${cmd% }
        echo "$cmd" >"$d/cmd.txt"
        rc=0
        python3 "$UTIL" run "$d" "${stdout//@D/$d}" -- \
            timeout "$TIMEOUT" /usr/bin/time -v -o "$d/time.txt" "${args[@]}" || rc=$?
        echo "$rc" >"$d/rc.txt"
        dirs+=("$d")
        ((rc == 124)) && break    # a timeout will not get better by repeating
    done
    python3 "$UTIL" row "$RESULTS" "$name" "$kind" "$TRUTH" "$cmd" "$resid" "$note" "$TIMEOUT" -- "${dirs[@]}"
}

skip_tool() {  # skip_tool NAME WHY
    echo "  $1: skipped ($2)"
    python3 -c 'import json,sys; print(json.dumps({"tool": sys.argv[1], "seconds": None, "exit": None, "note": "skipped: " + sys.argv[2]}))' \
        "$1" "$2" >>"$RESULTS"
}

SCALPEL_NOTE="stock /etc/scalpel/scalpel.conf zip line uncommented (footer as shipped); scalpel cannot append the 18 bytes after the EOCD signature nor the comment, so byte-identical zips are not expected"
say "timing tools (timeout ${TIMEOUT}s each) on $IMG"
for tool in $TOOLS; do
    dir=$RUN/$tool
    mkdir -p "$dir"
    case $tool in
    cat)
        run_tool cat none /dev/null "" "$REPS" -- cat "$IMG"
        ;;
    salvor-report)
        run_tool salvor-report report @D/stdout.txt "" "$REPS" -- \
            "$SALVOR_BIN" carve "$IMG" --out @D/out --report-only -q
        ;;
    salvor-files)
        run_tool salvor-files files @D/stdout.txt "" "$REPS" -- \
            "$SALVOR_BIN" carve "$IMG" --out @D/out -q
        ;;
    salvor-buffered)
        run_tool salvor-buffered report @D/stdout.txt "--read buffered: positional reads, no mmap, so peak RSS ~ heap + read buffers (exact, not sampled)" "$REPS" -- \
            "$SALVOR_BIN" carve "$IMG" --out @D/out --report-only --read buffered -q
        ;;
    photorec)
        if ! command -v photorec >/dev/null; then skip_tool photorec "not installed: apt-get install -y testdisk"; continue; fi
        # Non-interactive /cmd: whole disk without partition table, zip
        # family only, paranoid (default) checks. photorec.log lands in the cwd.
        run_tool photorec files @D/stdout.txt "zip family only (fileopt,everything,disable,zip,enable), paranoid, whole disk without partition table; photorec.log in the run dir" 1 -- \
            env -C @D TERM="${TERM:-xterm}" photorec /log /d @D/out/recup /cmd "$IMG" \
            partition_none,options,paranoid,fileopt,everything,disable,zip,enable,wholespace,search
        ;;
    foremost)
        if ! command -v foremost >/dev/null; then skip_tool foremost "not installed: apt-get install -y foremost"; continue; fi
        run_tool foremost files @D/stdout.txt "its built-in zip extractor also writes docx/xlsx/odt/jar etc. (all counted)" 1 -- \
            foremost -t zip -i "$IMG" -o @D/out
        ;;
    scalpel)
        if ! command -v scalpel >/dev/null; then skip_tool scalpel "not installed: apt-get install -y scalpel"; continue; fi
        conf=$dir/scalpel.conf
        [[ -r /etc/scalpel/scalpel.conf ]] || { skip_tool scalpel "/etc/scalpel/scalpel.conf missing"; continue; }
        cp /etc/scalpel/scalpel.conf "$conf"
        # uncomment the one standard zip line (MISCELLANEOUS section)
        sed -i -E 's/^#([[:space:]]*zip[[:space:]]+y[[:space:]]+[0-9]+[[:space:]]+PK\\x03\\x04([[:space:]].*)?)$/\1/' "$conf"
        zl=$(grep -E '^[[:space:]]*zip[[:space:]]' "$conf" || true)
        if [[ $(grep -cE '^[[:space:]]*zip[[:space:]]' "$conf") != 1 ]]; then
            skip_tool scalpel "could not enable exactly one zip line in $conf"; continue
        fi
        run_tool scalpel files @D/stdout.txt "$SCALPEL_NOTE; line: \`$(echo "$zl" | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//')\`" 1 -- \
            scalpel -c "$conf" -o @D/out "$IMG"
        ;;
    *)
        die "unknown tool '$tool' in BENCH_TOOLS"
        ;;
    esac
done

# ---- 5. table ---------------------------------------------------------------
ver() { "$@" 2>&1 | head -n1 | tr -d '\r' || true; }
TOOL_VERSIONS="$(ver cat --version); $(command -v photorec >/dev/null && ver photorec /version); foremost $(command -v foremost >/dev/null && ver foremost -V); $(command -v scalpel >/dev/null && ver scalpel -V)"
MACHINE="$(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
GITREV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
DIRTY=$(cd "$ROOT" && git status --porcelain -- src carvers Cargo.toml Cargo.lock 2>/dev/null | wc -l)
python3 - "$RUN/meta.json" <<EOF
import json, sys
truth = json.load(open("$TRUTH"))
intact = [i for i in truth["items"] if i["status"] == "intact"]
json.dump({
    "command": """$CMDLINE""",
    "image": "${IMG#$ROOT/}", "truth": "${TRUTH#$ROOT/}", "image_size": $IMG_SIZE,
    "total": len(intact), "total_unaligned": sum(1 for i in intact if i["offset"] % 512),
    "cache": """$CACHE_STATE""",
    "machine": """$MACHINE""",
    "salvor_bin": "$SALVOR_BIN",
    "salvor_version": """$(ver "$SALVOR_BIN" --version), git $GITREV ($DIRTY uncommitted changes in src/carvers/Cargo at run time)""",
    "tool_versions": """$TOOL_VERSIONS""",
    "run_dir": "${RUN#$ROOT/}", "started": "$(basename "$RUN")",
    "timeout": $TIMEOUT,
    "notes": [],
}, open(sys.argv[1], "w"), indent=1)
EOF
python3 "$UTIL" table "$RESULTS" "$RUN/meta.json" "$RUN/carve-bench.md"
cp "$RUN/carve-bench.md" "$CACHE/carve-bench.md"
echo "also: $CACHE/carve-bench.md"

if [[ ${BENCH_STRICT:-0} == 1 ]] && grep -q '\*\*FAIL\*\*' "$RUN/carve-bench.md"; then
    exit 1
fi
exit 0
