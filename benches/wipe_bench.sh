#!/usr/bin/env bash
# Wipe throughput: dd, shred, nwipe and Salvor on one loop device that this script creates over
# a file it creates, and nothing else. Needs root, losetup, nwipe (apt-get install nwipe).
#
#   benches/wipe_bench.sh [SIZE_MIB]      (default 1024)
#
# The loop device uses --direct-io=on, so writes and reads reach the backing file's disk rather
# than the host page cache. Rows: MiB/s, and the ratio to `dd oflag=direct bs=4M` (writes) or to
# `dd iflag=direct bs=4M` (reads). Targets: Salvor zero and random >= 0.9x dd; Salvor's
# verification >= 0.9x the sequential read. The table also goes to bench-cache/wipe-bench.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
[ "$(id -u)" -eq 0 ] || { echo "wipe_bench: needs root (losetup)" >&2; exit 2; }
command -v nwipe >/dev/null || { echo "wipe_bench: apt-get install nwipe" >&2; exit 2; }
cargo build --release -q
SALVOR=$PWD/target/release/salvor

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/salvor-wipe-bench.XXXXXX")
FILE=$WORK/disk.img
truncate -s "${SIZE_MIB}M" "$FILE"
LOOP=$(losetup --direct-io=on -f --show "$FILE")
cleanup() { losetup -d "$LOOP" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The one safety rule: every wiping command below goes to $LOOP, and only after this check that
# $LOOP is a loop device backed by the file this script made. Anything else aborts the script.
check_target() {
  local name backing
  case "$LOOP" in /dev/loop[0-9]*) ;; *) echo "wipe_bench: $LOOP is not a loop device; abort" >&2; exit 3 ;; esac
  [ -b "$LOOP" ] || { echo "wipe_bench: $LOOP is not a block device; abort" >&2; exit 3; }
  name=$(basename "$LOOP")
  backing=$(cat "/sys/block/$name/loop/backing_file")
  [ "$backing" = "$(realpath "$FILE")" ] || { echo "wipe_bench: $LOOP is backed by $backing, not $FILE; abort" >&2; exit 3; }
}

now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
BYTES=$((SIZE_MIB * 1048576))
declare -a ROWS

run() { # label, kind (write|read), command...
  local label=$1 kind=$2; shift 2
  check_target
  sync; echo 3 > /proc/sys/vm/drop_caches
  local t0 t1; t0=$(now); "$@" >/dev/null 2>"$WORK/err" || { echo "wipe_bench: $label failed:" >&2; cat "$WORK/err" >&2; exit 1; }; t1=$(now)
  local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  ROWS+=("$label|$kind|$(rate $BYTES "$secs")")
  echo "$label: $(rate $BYTES "$secs") MiB/s" >&2
}

# Salvor's verification rate comes from its certificate (time of the read-back alone).
salvor_verify() { # method
  check_target
  sync; echo 3 > /proc/sys/vm/drop_caches
  rm -rf "$WORK/out"
  "$SALVOR" wipe "$LOOP" --method "$1" --verify last --confirm "$LOOP" --out "$WORK/out" -q >/dev/null
  python3 - "$WORK/out" "$BYTES" <<'PY'
import json, glob, sys
c = json.load(open(glob.glob(sys.argv[1] + "/certificate-*.json")[0]))
v = c["passes"][-1]["verification"]
print(round(int(sys.argv[2]) / 1048576 / v["seconds"]))
PY
}

# Untimed first pass: the backing file's blocks get allocated, so every timed run overwrites
# allocated blocks (the first writer would otherwise pay for allocation).
check_target
dd if=/dev/zero of="$LOOP" oflag=direct bs=4M count=$((SIZE_MIB / 4)) status=none

run "dd if=/dev/zero oflag=direct bs=4M" write dd if=/dev/zero of="$LOOP" oflag=direct bs=4M count=$((SIZE_MIB / 4))
run "dd iflag=direct bs=4M (sequential read)" read dd if="$LOOP" of=/dev/null iflag=direct bs=4M
run "shred -n1 (random)" write shred -n1 "$LOOP"
run "nwipe --method=zero --verify=off" write nwipe --autonuke --nogui --nowait --noblank --method=zero --verify=off --rounds=1 "$LOOP"
run "nwipe --method=random --verify=off" write nwipe --autonuke --nogui --nowait --noblank --method=random --verify=off --rounds=1 "$LOOP"
run "salvor wipe --method zero --verify off" write "$SALVOR" wipe "$LOOP" --method zero --verify off --confirm "$LOOP" --out "$WORK/out0" -q
run "salvor wipe --method random --verify off" write "$SALVOR" wipe "$LOOP" --method random --verify off --confirm "$LOOP" --out "$WORK/out1" -q
ROWS+=("salvor verification of a zero pass|read|$(salvor_verify zero)")
ROWS+=("salvor verification of a random pass (regenerated ChaCha20)|read|$(salvor_verify random)")

dd_w=$(echo "${ROWS[0]}" | cut -d'|' -f3)
dd_r=$(echo "${ROWS[1]}" | cut -d'|' -f3)
{
  echo "Wipe throughput on a ${SIZE_MIB} MiB loop device (--direct-io=on over a file on $(df --output=source "$WORK" | tail -1)), $(nproc) cores, $(date -u +%F)"
  echo
  echo "| command | MiB/s | ratio to dd (write) / dd read (read) |"
  echo "|---|---:|---:|"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r label kind mibs <<<"$r"
    base=$dd_w; [ "$kind" = read ] && base=$dd_r
    echo "| $label | $mibs | $(awk -v a="$mibs" -v b="$base" 'BEGIN { printf "%.2f", a / b }') |"
  done
} | tee bench-cache/wipe-bench.md
