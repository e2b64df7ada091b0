#!/usr/bin/env bash
# Rebuild NotoSansCJKtc-Regular-subset.otf: Noto Sans CJK TC Regular (face 3 of Debian
# fonts-noto-cjk's NotoSansCJK-Regular.ttc) cut to ASCII, Latin-1 and Latin Extended-A, general
# and CJK punctuation, full-width forms, and the Big5 symbols and level-1 (common) hanzi: about
# 6,400 characters, 3.5 MB. Salvor's PDF certificates embed it (krilla subsets it again per PDF).
# Needs: apt-get install fonts-noto-cjk fonttools
set -euo pipefail
cd "$(dirname "$0")"
/usr/bin/python3 - <<'PY'
chars = set()
for b1 in range(0xA1, 0xC7):
    for b2 in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
        if (b1 << 8) | b2 > 0xC67E:
            continue
        try:
            chars.add(bytes([b1, b2]).decode("big5"))
        except UnicodeDecodeError:
            pass
for lo, hi in [(0x20, 0x7F), (0xA0, 0x180), (0x2000, 0x2070), (0x3000, 0x3040), (0xFF00, 0xFFF0)]:
    chars.update(chr(c) for c in range(lo, hi))
open("/tmp/salvor-cjk-chars.txt", "w").write("".join(sorted(chars)))
PY
pyftsubset /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc --font-number=3 \
  --text-file=/tmp/salvor-cjk-chars.txt --output-file=NotoSansCJKtc-Regular-subset.otf \
  --name-IDs='*' --name-languages='*'
