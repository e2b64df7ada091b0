#!/usr/bin/env bash
# Run every Salvor test. Installs what the tests need when it is missing (Debian packages), then
# runs the whole workspace's tests. Used as-is by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v python3 >/dev/null || need+=(python3)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v mcopy >/dev/null || need+=(mtools)
command -v zip >/dev/null || need+=(zip)
command -v unzip >/dev/null || need+=(unzip)
command -v 7zz >/dev/null || need+=(7zip)
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v ddrescue >/dev/null || need+=(gddrescue)
command -v xorriso >/dev/null || need+=(xorriso)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The shared corpus lives beside the checkout; tests say so when it is absent.
if [ -z "${SALVOR_CORPUS:-}" ] && [ -d ../shared/corpus ]; then
  SALVOR_CORPUS="$(cd ../shared/corpus && pwd)"
  export SALVOR_CORPUS
fi

cargo test --workspace --locked "$@"
