#!/usr/bin/env bash
# Screenshots of every screen of the desktop app, in English and Traditional Chinese.
#
# Starts `salvor gui --demo --screen S --lang L` under Xvfb (no window manager: the window sits
# at +0+0), waits for the demo jobs (carve, repair, imaging and surface scan of
# testimages/demo.img into a temporary folder) and saves the root window with ImageMagick's
# import. Output: docs/screenshots/<screen>-<lang>.png (or $1).
# SALVOR_SCREENS="verify hex" limits the run to those screens.
# Needs: apt-get install -y --no-install-recommends xvfb xauth x11-apps imagemagick xdotool
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
mkdir -p "$out"
for tool in xvfb-run /usr/bin/import; do
  command -v "$tool" >/dev/null || {
    echo "screenshots.sh: $tool is missing; apt-get install -y --no-install-recommends xvfb xauth x11-apps imagemagick xdotool" >&2
    exit 2
  }
done
# SALVOR_PROFILE=dev reuses a debug build instead of building a release one.
profile=${SALVOR_PROFILE:-release}
cargo build --profile "$profile" --bin salvor
bin=${CARGO_TARGET_DIR:-$PWD/target}/$([ "$profile" = dev ] && echo debug || echo "$profile")/salvor
export SALVOR_GUI_NO_SETTINGS=1 XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
for lang in en zh-TW; do
  for screen in ${SALVOR_SCREENS:-sources carve repair verify acquire surface destroy hex}; do
    png="$out/$screen-$lang.png"
    # On the destroy screen, also type a wrong confirmation and press Wipe (the field sits
    # further left in Chinese, whose label is shorter) to show the refusal.
    confirm_x=$([ "$lang" = en ] && echo 480 || echo 440)
    xvfb-run -a -s "-screen 0 1280x800x24" sh -c "
      '$bin' gui --demo --screen $screen --lang $lang >/dev/null 2>&1 & app=\$!
      sleep ${SALVOR_SHOT_WAIT:-4}
      /usr/bin/import -window root '$png'
      if [ $screen = destroy ] && command -v xdotool >/dev/null; then
        xdotool mousemove $confirm_x 214 click 1 sleep 0.3 type WRONG-SERIAL
        xdotool mousemove 180 237 click 1 sleep 1
        /usr/bin/import -window root '$out/destroy-refused-$lang.png'
      fi
      kill \$app; wait \$app 2>/dev/null || true"
    echo "$png"
  done
done

# As root with FUSE: a 64 MiB source with unreadable ranges (salvor-faultfs serving a file that
# fails reads with EIO, behind a read-only loop device this script creates and detaches) shows
# the sector map and the surface scan with errors: <screen>-bad-<lang>.png.
if [ "$(id -u)" = 0 ] && [ -e /dev/fuse ] && command -v losetup >/dev/null; then
  cargo build --profile "$profile" -p salvor-faultfs
  fbin=$(dirname "$bin")/salvor-faultfs
  work=$(mktemp -d)
  mkdir "$work/mnt"
  for _ in $(seq 32); do cat testimages/demo.img; done >"$work/backing.img"
  "$fbin" "$work/backing.img" "$work/mnt" --eio 20M:64K,41M:4K,50M:256K --read-only &
  fs=$!
  loop=
  cleanup() {
    [ -n "$loop" ] && losetup -d "$loop"
    kill "$fs" 2>/dev/null && wait "$fs" 2>/dev/null
    rm -rf "$work"
  }
  trap cleanup EXIT
  for _ in $(seq 50); do [ -e "$work/mnt/disk.img" ] && break; sleep 0.1; done
  loop=$(losetup -r -f --show "$work/mnt/disk.img")
  for lang in en zh-TW; do
    for screen in acquire surface; do
      png="$out/$screen-bad-$lang.png"
      xvfb-run -a -s "-screen 0 1280x800x24" sh -c "
        '$bin' gui --demo --screen $screen --lang $lang --source $loop >/dev/null 2>&1 & app=\$!
        sleep ${SALVOR_SHOT_WAIT_BAD:-12}
        /usr/bin/import -window root '$png'
        kill \$app; wait \$app 2>/dev/null || true"
      echo "$png"
    done
  done
fi
