#!/usr/bin/env bash
# Screenshots of every screen of the desktop app, in English and Traditional Chinese.
#
# Starts `salvor gui --demo --screen S --lang L` under Xvfb (no window manager: the window sits
# at +0+0), waits for the demo jobs (carve, repair, imaging and surface scan of
# testimages/demo.img into a temporary folder) and saves the root window with ImageMagick's
# import. Output: docs/screenshots/<screen>-<lang>.png (or $1).
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
  for screen in sources carve repair acquire surface destroy hex; do
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
