#!/usr/bin/env python3
"""Test images of electronic records, built from the shared corpus at test time.

Python 3.11 standard library only. The corpus is not part of the repository,
so the images are made where the tests run:

    python3 testimages/records.py --corpus ../shared/corpus --out DIR

writes into DIR:
  records.img, records.truth.json   SI, 電子封裝檔, Big5 DI, VEO v2 records planted
                                    at unaligned offsets between random and zero
                                    fill: one cut short, some with slack bytes after
                                    the end tag, SIs nested in encapsulations
  clean.img                         32 MiB of random, zero and plain Chinese text
                                    (UTF-8 and Big5) in which nothing is a record
  manifest.img, manifest.tsv,       every file of tw/00111 at unaligned offsets
  manifest.sha1, manifest.truth.json between random fill, no names anywhere; the
                                    manifest in Salvor's sized form and as plain
                                    sha1sum output, plus one file never planted

Truth is computed here from the planted bytes, independently of Salvor. The same
command always writes the same bytes (seeded random.Random, no clock).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
from random import Random

SEED = 0x5A1E_00EC


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def root_extent(data: bytes, root: str, encoding: str, start_tag_at: int | None = None):
    """(start, end) of the record whose root element is `root`: the file start, or the start tag
    when the record sits inside another one; the end is just after the last end tag."""
    name = root.encode(encoding)
    end_tag = b"</" + name + b">"
    if start_tag_at is None:
        start = 0
        end = data.rindex(end_tag) + len(end_tag)
    else:
        start = start_tag_at
        end = data.index(end_tag, start) + len(end_tag)
    return start, end


class Image:
    def __init__(self, rng: Random):
        self.rng = rng
        self.buf = bytearray()
        self.items = []

    def fill(self, kind: str, lo: int = 3000, hi: int = 20000):
        n = self.rng.randrange(lo, hi) | 1  # odd sizes keep every plant unaligned
        if kind == "random":
            self.buf += self.rng.randbytes(n)
        else:
            self.buf += bytes(n)

    def plant(self, data: bytes) -> int:
        at = len(self.buf)
        self.buf += data
        return at


def records_image(corpus: str, rng: Random):
    img = Image(rng)
    tw = os.path.join(corpus, "tw")
    veo = os.path.join(corpus, "veo")
    si = "線上簽核"

    def read(*p):
        with open(os.path.join(*p), "rb") as f:
            return f.read()

    # (path, root, encoding, kind, slack after the end tag, nested SI?)
    plants = [
        (("00111", "1000000016.si"), si, "utf-8", "si", b"\r\n\x1a", False),
        (("encaps", "checkin-1000000016.xml"), "電子封裝檔", "utf-8", "erencaps", b"", True),
        (("encaps", "big5-93-letter.di"), "函", "big5", "di", b"\r\n", False),
        (("00111", "200707020001.di"), "函", "big5", "di", b"", False),
        (("00111", "100JP00016V1.di"), "文書結構", "utf-8", "di", "  尾端文字".encode(), False),
        (("veo", "fileVEO.veo"), "vers:VERSEncapsulatedObject", "utf-8", "veo", b"", False),
        (("encaps", "av-1000000016.xml"), "電子封裝檔", "utf-8", "erencaps", b"", False),
        (("veo", "1D-2E.veo"), "vers:VERSEncapsulatedObject", "utf-8", "veo", b"", False),
        (("merge", "1000000016.xml"), "電子封裝檔", "utf-8", "erencaps", b"</x>", True),
    ]
    for i, (path, root, enc, kind, slack, nested) in enumerate(plants):
        img.fill("random" if i % 2 == 0 else "zero")
        data = read(corpus, "veo", path[1]) if path[0] == "veo" else read(tw, *path)
        start, end = root_extent(data, root, enc)
        at = img.plant(data + slack)
        item = {
            "source": "/".join(path),
            "offset": at + start,
            "length": end - start,
            "sha256": sha256(data[start:end]),
            "status": "intact",
            "type": kind,
            "children": [],
        }
        if nested:
            tag = data.index(("<" + si + " ").encode())
            cs, ce = root_extent(data, si, "utf-8", tag)
            item["children"].append(
                {"offset": at + cs, "length": ce - cs, "type": "si", "status": "intact",
                 "sha256": sha256(data[cs:ce])}
            )
        img.items.append(item)

    # A 電子封裝檔 cut in the middle of its nested SI, then zero fill: both are truncated and
    # end at the last whole character before the cut.
    img.fill("random")
    data = read(tw, "merge", "1000000016.si")
    cut = int(len(data) * 0.6)
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    at = img.plant(data[:cut])
    tag = data.index(("<" + si + " ").encode())
    img.items.append({
        "source": "merge/1000000016.si (cut)",
        "offset": at,
        "length": cut,
        "sha256": sha256(data[:cut]),
        "status": "truncated",
        "type": "erencaps",
        "children": [{"offset": at + tag, "length": cut - tag, "type": "si",
                      "status": "truncated", "sha256": sha256(data[tag:cut])}],
    })
    img.fill("zero")
    return img


WORDS = ["函", "簽", "線上簽核", "電子封裝檔", "媒體封裝檔", "交換表單", "文書結構", "公文", "檔案",
         "機關", "主旨", "說明", "附件", "決行", "會辦", "承辦人", "中華民國", "年", "月", "日",
         "，", "。", "、", "：", "（", "）", "《", "》", " ", "\n", "1", "2", "3", "a < b", "x > y",
         "請查照", "本部", "電話", "地址", "臺北市"]


def clean_image(rng: Random) -> bytes:
    out = bytearray()
    out += rng.randbytes(12 << 20)
    out += bytes(8 << 20)
    for enc in ("utf-8", "big5"):
        text = bytearray()
        while len(text) < (6 << 20):
            text += "".join(rng.choice(WORDS) for _ in range(4096)).encode(enc)
        out += text[: 6 << 20]
    assert len(out) == 32 << 20
    return bytes(out)


def manifest_image(corpus: str, rng: Random):
    folder = os.path.join(corpus, "tw", "00111")
    img = Image(rng)
    placed = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        img.fill("random", 1000, 9000)
        placed[name] = (img.plant(data), data)
    img.fill("random", 1000, 9000)
    # Identical files are found wherever any copy of their bytes lies.
    by_content = {}
    for name, (at, data) in placed.items():
        by_content.setdefault(data, []).append(at)
    absent = b"this file was never written to the image\n"
    sized, plain, truth = [], [], []
    for name, (at, data) in sorted(placed.items()):
        digest = hashlib.sha1(data).hexdigest()
        sized.append(f"{digest}\t{len(data)}\t{name}")
        plain.append(f"{digest}  {name}")
        truth.append({"name": name, "size": len(data), "sha1": digest, "planted_at": at,
                      "offsets": sorted(by_content[data]), "sha256": sha256(data)})
    # A name that tries to leave the output folder, for a file that is there.
    name, (at, data) = "../../outside/公司OPV1.txt", placed["公司OPV1.txt"]
    digest = hashlib.sha1(data).hexdigest()
    sized.append(f"{digest}\t{len(data)}\t{name}")
    truth.append({"name": name, "size": len(data), "sha1": digest, "planted_at": at,
                  "offsets": sorted(by_content[data]), "sha256": sha256(data)})
    digest = hashlib.sha1(absent).hexdigest()
    sized.append(f"{digest}\t{len(absent)}\tnot-planted.txt")
    plain.append(f"{digest}  not-planted.txt")
    truth.append({"name": "not-planted.txt", "size": len(absent), "sha1": digest,
                  "offsets": []})
    return img, "\n".join(sized) + "\n", "\n".join(plain) + "\n", truth


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    img = records_image(a.corpus, Random(SEED))
    with open(os.path.join(a.out, "records.img"), "wb") as f:
        f.write(img.buf)
    with open(os.path.join(a.out, "records.truth.json"), "w", encoding="utf-8") as f:
        json.dump({"size": len(img.buf), "items": img.items}, f, ensure_ascii=False, indent=1)

    with open(os.path.join(a.out, "clean.img"), "wb") as f:
        f.write(clean_image(Random(SEED + 1)))

    img, sized, plain, truth = manifest_image(a.corpus, Random(SEED + 2))
    with open(os.path.join(a.out, "manifest.img"), "wb") as f:
        f.write(img.buf)
    with open(os.path.join(a.out, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write(sized)
    with open(os.path.join(a.out, "manifest.sha1"), "w", encoding="utf-8") as f:
        f.write(plain)
    with open(os.path.join(a.out, "manifest.truth.json"), "w", encoding="utf-8") as f:
        json.dump({"size": len(img.buf), "entries": truth}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
