#!/usr/bin/env bash
# Rebuild the committed source archives in testimages/sources/ from the text
# inputs in testimages/sources/inputs/ with real producer programs.
#
# NOT run in CI. The committed archives are the reference; rebuilding them
# gives different bytes (timestamps, producer versions), and the truth files
# of every generated image would change with them.
#
# Needs: zip (Info-ZIP), 7zz, python3, javac/jar (OpenJDK), pandoc,
#        soffice (libreoffice-writer-nogui, libreoffice-calc-nogui).
#   apt-get install -y --no-install-recommends zip 7zip pandoc \
#       libreoffice-writer-nogui libreoffice-calc-nogui default-jdk-headless
set -euo pipefail
cd "$(dirname "$0")"
SRC=$PWD
IN=$SRC/inputs
WORK=$(mktemp -d /tmp/salvor-sources.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export TZ=UTC LC_ALL=C.UTF-8
export SOURCE_DATE_EPOCH=1704067200   # 2024-01-01T00:00:00Z (pandoc honours it)

python3 "$IN/make_inputs.py"
cp "$IN"/*.txt "$IN"/*.md "$IN"/*.html "$IN"/*.csv "$IN"/Hello.java "$WORK"/
cd "$WORK"
touch -d '2024-01-01 12:00:00' ./*

# Info-ZIP, deflated (words.txt compresses to ~26 KiB) and stored
rm -f "$SRC/infozip.zip" "$SRC/infozip-stored.zip"
zip -9 "$SRC/infozip.zip" readme.txt notes.txt todo.txt words.txt
zip -0 "$SRC/infozip-stored.zip" readme.txt notes.txt todo.txt book.md

# Python zipfile: seekable, non-seekable (data descriptors), forced ZIP64
python3 - "$SRC" <<'PY'
import sys, zipfile
out = sys.argv[1]
DT = (2024, 1, 1, 12, 0, 0)

def add(zf, name, force_zip64=False):
    zi = zipfile.ZipInfo(name, DT)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    with open(name, "rb") as f, zf.open(zi, "w", force_zip64=force_zip64) as d:
        d.write(f.read())

with zipfile.ZipFile(out + "/pyzip.zip", "w") as zf:
    for n in ("readme.txt", "notes.txt", "report.html"):
        add(zf, n)

class NonSeekable:
    """Only write/flush: zipfile falls back to data descriptors (bit 3)."""
    def __init__(self, f): self.f = f
    def write(self, b): return self.f.write(b)
    def flush(self): self.f.flush()

with open(out + "/pyzip-dd.zip", "wb") as raw:
    with zipfile.ZipFile(NonSeekable(raw), "w") as zf:
        for n in ("readme.txt", "todo.txt", "book.md"):
            add(zf, n)

# force_zip64 puts ZIP64 extra fields in the local headers only. To get them
# in the central directory too, and the ZIP64 end record + locator, lower
# zipfile's module-level ZIP64_LIMIT to 0 while the central directory is
# written (every size/offset > 0 is then written as ZIP64).
zf = zipfile.ZipFile(out + "/pyzip64.zip", "w", allowZip64=True)
for n in ("readme.txt", "notes.txt", "sheet.csv"):
    add(zf, n, force_zip64=True)
saved = zipfile.ZIP64_LIMIT
zipfile.ZIP64_LIMIT = 0
try:
    zf.close()
finally:
    zipfile.ZIP64_LIMIT = saved
PY

# 7-Zip
rm -f "$SRC/7z.zip"
7zz a -tzip -mx=7 "$SRC/7z.zip" readme.txt notes.txt words.txt >/dev/null

# LibreOffice (headless), with a throw-away user profile
LO="soffice -env:UserInstallation=file://$WORK/lo-profile --headless"
$LO --infilter="HTML (StarWriter)" --convert-to docx:"MS Word 2007 XML" --outdir "$WORK/lo" report.html
$LO --infilter="HTML (StarWriter)" --convert-to odt:writer8 --outdir "$WORK/lo" report.html
$LO --convert-to xlsx:"Calc MS Excel 2007 XML" --outdir "$WORK/lo" sheet.csv
$LO --convert-to ods:calc8 --outdir "$WORK/lo" sheet.csv
cp lo/report.docx "$SRC/writer.docx"
cp lo/report.odt "$SRC/writer.odt"
cp lo/sheet.xlsx "$SRC/calc.xlsx"
cp lo/sheet.ods "$SRC/calc.ods"

# pandoc EPUB
pandoc book.md -o "$SRC/book.epub"

# OpenJDK jar
mkdir -p classes
javac --release 11 -d classes Hello.java
cp book.md classes/salvor/demo/book.md
printf 'Main-Class: salvor.demo.Hello\n' > manifest.txt
rm -f "$SRC/hello.jar"
jar cfm "$SRC/hello.jar" manifest.txt -C classes .

# A stored zip inside a stored zip
rm -f "$SRC/nested.zip"
mkdir -p nest
zip -9 nest/inner.zip inner.txt report.html
touch -d '2024-01-01 12:00:00' nest/inner.zip
cp outer.txt nest/
(cd nest && zip -0 "$SRC/nested.zip" inner.zip outer.txt)

cd "$SRC"
ls -l ./*.zip ./*.docx ./*.odt ./*.xlsx ./*.ods ./*.epub ./*.jar
sha256sum ./*.zip ./*.docx ./*.odt ./*.xlsx ./*.ods ./*.epub ./*.jar
