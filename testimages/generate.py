#!/usr/bin/env python3
"""Deterministic raw-disk test images with exact ground truth for Salvor.

Python 3.11 standard library only. The fat32 scenario also runs mkfs.vfat
(dosfstools) and mcopy/mdel (mtools); nothing else is executed.

    python3 testimages/generate.py [--out DIR]              all scenario images
    python3 testimages/generate.py --demo testimages/demo.img
    python3 testimages/generate.py --bench 2048 --out FILE  big benchmark image
    python3 testimages/generate.py --check DIR_OR_TRUTH...  re-verify truth

Every image NAME.img gets NAME.truth.json beside it (format: README.md).
The same command always writes the same bytes: all randomness comes from
random.Random seeded by a constant and the scenario name, and no clock is read.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from random import Random

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES_DIR = os.path.join(HERE, "sources")
MIB = 1 << 20
BASE_SEED = 0x5A1E_0001
MIN_GAP = 8192
MAX_GAP = 40960

SOURCE_FILES = [
    "infozip.zip",
    "infozip-stored.zip",
    "pyzip.zip",
    "pyzip-dd.zip",
    "pyzip64.zip",
    "7z.zip",
    "writer.docx",
    "writer.odt",
    "calc.xlsx",
    "calc.ods",
    "book.epub",
    "hello.jar",
    "nested.zip",
]

DEFECTS = {
    None: [],
    "cd-overwritten": ["central-directory-unreadable"],
    "eocd-missing": ["eocd-missing"],
    "lfh-overwritten": ["local-header-missing"],
    "zeroed-4k": ["crc-mismatch", "deflate-error", "size-mismatch"],
    "bitflip": ["crc-mismatch", "deflate-error", "size-mismatch"],
    "truncated-50": ["central-directory-missing", "truncated", "eocd-missing"],
    "truncated-90": ["central-directory-missing", "truncated", "eocd-missing"],
}


def sha256(b) -> str:
    return hashlib.sha256(b).hexdigest()


def seed_for(name: str) -> int:
    return BASE_SEED ^ int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


# --------------------------------------------------------------------------
# Source archives
# --------------------------------------------------------------------------

def detect_type(zf: zipfile.ZipFile) -> str:
    names = zf.namelist()
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
    if "mimetype" in names:
        mt = zf.read("mimetype").strip()
        if mt == b"application/epub+zip":
            return "epub"
        for prefix, kind in ((b"application/vnd.oasis.opendocument.text", "odt"),
                             (b"application/vnd.oasis.opendocument.spreadsheet", "ods"),
                             (b"application/vnd.oasis.opendocument.presentation", "odp")):
            if mt.startswith(prefix):
                return kind
    if "META-INF/MANIFEST.MF" in names:
        return "jar"
    return "zip"


def extra_ids(extra: bytes) -> list[int]:
    ids, i = [], 0
    while i + 4 <= len(extra):
        hid, ln = struct.unpack_from("<HH", extra, i)
        ids.append(hid)
        i += 4 + ln
    return ids


class Source:
    """A committed source archive, parsed once."""

    def __init__(self, name: str):
        self.name = name
        self.rel = "sources/" + name
        with open(os.path.join(SOURCES_DIR, name), "rb") as f:
            self.data = f.read()
        d = self.data
        self.sha = sha256(d)
        # End of central directory: must end exactly at the end of the file.
        pos = d.rfind(b"PK\x05\x06")
        assert pos >= 0, name
        (_, _, _, _, _, cd_size, cd_off, clen) = struct.unpack_from("<4sHHHHIIH", d, pos)
        assert pos + 22 + clen == len(d), "%s: trailing bytes after EOCD" % name
        self.eocd_off, self.eocd_len = pos, 22 + clen
        self.zip64_end = None
        loc = pos - 20
        if loc >= 0 and d[loc:loc + 4] == b"PK\x06\x07":
            (z64_off,) = struct.unpack_from("<Q", d, loc + 8)
            assert d[z64_off:z64_off + 4] == b"PK\x06\x06"
            (cd_size, cd_off) = struct.unpack_from("<QQ", d, z64_off + 40)
            self.zip64_end = z64_off
        self.cd_off, self.cd_size = cd_off, cd_size
        assert d[:4] == b"PK\x03\x04" and d[cd_off:cd_off + 4] == b"PK\x01\x02", name
        zf = zipfile.ZipFile(io.BytesIO(d))
        assert zf.testzip() is None, name
        self.type = detect_type(zf)
        self.members = []
        zip64 = self.zip64_end is not None
        for zi in zf.infolist():
            ho = zi.header_offset
            assert d[ho:ho + 4] == b"PK\x03\x04"
            fnl, exl = struct.unpack_from("<HH", d, ho + 26)
            lextra = d[ho + 30 + fnl:ho + 30 + fnl + exl]
            if 1 in extra_ids(lextra) or 1 in extra_ids(zi.extra):
                zip64 = True
            self.members.append({
                "name": zi.filename,
                "crc32": "%08x" % zi.CRC,
                "size": zi.file_size,
                "compressed_size": zi.compress_size,
                "method": zi.compress_type,
                "data_descriptor": bool(zi.flag_bits & 0x08),
                "header_offset": ho,  # relative; made absolute when planted
                "_data_offset": ho + 30 + fnl + exl,
            })
        self.zip64 = zip64
        # Stored members that are complete zips themselves (nested archives).
        self.children = []
        for m in self.members:
            if m["method"] != 0 or m["size"] < 22:
                continue
            inner = d[m["_data_offset"]:m["_data_offset"] + m["size"]]
            if inner[:4] != b"PK\x03\x04":
                continue
            try:
                izf = zipfile.ZipFile(io.BytesIO(inner))
                kind = detect_type(izf)
            except zipfile.BadZipFile:
                continue
            self.children.append({"rel_offset": m["_data_offset"], "length": len(inner),
                                  "sha256": sha256(inner), "type": kind})

    def largest_deflated(self):
        defl = [m for m in self.members if m["method"] == 8]
        return max(defl, key=lambda m: m["compressed_size"]) if defl else None


_SOURCES: dict[str, Source] = {}


def source(name: str) -> Source:
    if name not in _SOURCES:
        _SOURCES[name] = Source(name)
    return _SOURCES[name]


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

def read_member_fails(buf: bytes, member_name: str) -> bool:
    """True if reading member_name from the archive in buf raises."""
    try:
        with zipfile.ZipFile(io.BytesIO(buf)) as zf:
            zf.read(member_name)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError):
        return True
    return False


def opens(buf: bytes) -> bool:
    try:
        zipfile.ZipFile(io.BytesIO(buf))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return False
    return True


class Image:
    def __init__(self, name: str, size: int, fill: str, seed: int):
        self.name = name
        self.fill = fill
        self.rng = Random(seed)             # layout / damage choices
        self.fill_rng = Random(seed ^ 0xF111)  # bytes written over damage
        if fill == "random":
            self.buf = bytearray(Random(seed ^ 0xB17E5).randbytes(size))
        else:
            self.buf = bytearray(size)
        self.items = []

    def fill_bytes(self, n: int) -> bytes:
        if self.fill == "random":
            return self.fill_rng.randbytes(n)
        return bytes(n)

    def plant(self, src: Source, off: int, damage: str | None = None) -> dict:
        n = len(src.data)
        assert off >= 0 and off + n <= len(self.buf)
        buf = self.buf
        buf[off:off + n] = src.data
        status = "intact" if damage is None else "damaged"
        length = n
        damage_offset = None
        surviving = None
        rng = self.rng
        if damage is None:
            pass
        elif damage.startswith("truncated-"):
            keep = n * int(damage.split("-")[1]) // 100
            buf[off + keep:off + n] = self.fill_bytes(n - keep)
            status, length, damage_offset, surviving = "truncated", keep, off + keep, keep
            assert not opens(bytes(buf[off:off + keep]))
        elif damage == "cd-overwritten":
            a = off + src.cd_off
            buf[a:a + src.cd_size] = self.fill_bytes(src.cd_size)
            damage_offset = a
            assert not opens(bytes(buf[off:off + n]))
        elif damage == "eocd-missing":
            assert src.zip64_end is None, "eocd-missing needs a non-ZIP64 source"
            a = off + src.eocd_off
            buf[a:a + src.eocd_len] = self.fill_bytes(src.eocd_len)
            damage_offset = a
            # Without its end record the directory runs into unrelated bytes: a carver cannot
            # tell this from an archive cut right after its directory, so it is "truncated".
            status = "truncated"
            length = src.cd_off + src.cd_size
            assert length == src.eocd_off
            assert not opens(bytes(buf[off:off + n]))
        elif damage == "lfh-overwritten":
            m = src.members[rng.randrange(1, len(src.members))]
            a = off + m["header_offset"]
            buf[a:a + 30] = self.fill_bytes(30)
            damage_offset = a
            assert opens(bytes(buf[off:off + n]))
            assert read_member_fails(bytes(buf[off:off + n]), m["name"])
        elif damage == "zeroed-4k":
            m = src.largest_deflated()
            assert m and m["compressed_size"] > 8192, "%s: no deflated member > 8 KiB" % src.name
            a = off + m["_data_offset"] + m["compressed_size"] // 2 - 2048
            buf[a:a + 4096] = bytes(4096)
            damage_offset = a
            assert read_member_fails(bytes(buf[off:off + n]), m["name"])
        elif damage == "bitflip":
            cands = [m for m in src.members if m["compressed_size"] >= 256]
            m = cands[rng.randrange(len(cands))]
            cs = m["compressed_size"]
            while True:
                a = off + m["_data_offset"] + rng.randrange(cs // 4, 3 * cs // 4)
                bit = 1 << rng.randrange(8)
                buf[a] ^= bit
                if read_member_fails(bytes(buf[off:off + n]), m["name"]):
                    break
                buf[a] ^= bit  # flip went unnoticed (rare): undo, try another
            damage_offset = a
        else:
            raise ValueError(damage)
        item = make_item(src, off, length, bytes(buf[off:off + length]), status, damage,
                         damage_offset, surviving)
        self.items.append(item)
        return item

    def write(self, path: str) -> dict:
        with open(path, "wb") as f:
            f.write(self.buf)
        truth = make_truth(os.path.basename(path), len(self.buf), sha256(self.buf),
                           self.fill, self.items)
        write_truth(path, truth)
        return truth


def make_item(src: Source, off: int, length: int, extent: bytes, status: str,
              damage: str | None, damage_offset: int | None, surviving: int | None) -> dict:
    members = []
    for m in src.members:
        mm = {k: v for k, v in m.items() if not k.startswith("_")}
        mm["header_offset"] = off + m["header_offset"]
        members.append(mm)
    children = []
    if damage is None:
        for c in src.children:
            children.append({"offset": off + c["rel_offset"], "length": c["length"],
                             "sha256": c["sha256"], "type": c["type"]})
    return {
        "offset": off,
        "length": length,
        "sha256": sha256(extent),
        "status": status,
        "type": src.type,
        "zip64": src.zip64,
        "source": src.rel,
        "damage": damage,
        "damage_offset": damage_offset,
        "defects_any_of": list(DEFECTS[damage]),
        "surviving_length": surviving,
        "sha256_surviving": sha256(extent) if surviving is not None else None,
        "members": members,
        "children": children,
    }


def make_truth(image_name: str, size: int, digest: str, fill: str, items: list) -> dict:
    return {"image": image_name, "size": size, "sha256": digest, "fill": fill,
            "items": sorted(items, key=lambda it: it["offset"])}


def truth_path_for(img_path: str) -> str:
    base = img_path[:-4] if img_path.endswith(".img") else img_path
    return base + ".truth.json"


def write_truth(img_path: str, truth: dict) -> None:
    with open(truth_path_for(img_path), "w", encoding="utf-8", newline="\n") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
        f.write("\n")


def place(rng: Random, cursor: int, length: int, align: str) -> int:
    """Next plant offset after cursor, at least MIN_GAP away."""
    off = cursor + rng.randint(MIN_GAP, MAX_GAP)
    if align == "sector":
        off = (off + 511) // 512 * 512
    elif align == "odd":
        off |= 1
    elif align == "unaligned":
        if off % 512 == 0:
            off += rng.randrange(1, 512)
    else:
        raise ValueError(align)
    return off


def build(name: str, fill: str, plan: list, out_dir: str, shuffle: bool = True,
          min_size: int = 0, seed_name: str | None = None) -> dict:
    """plan: list of (source name, damage or None, align)."""
    seed = seed_for(seed_name or name)
    rng = Random(seed ^ 0x1A40)
    plan = list(plan)
    if shuffle:
        rng.shuffle(plan)
    cursor, layout = 0, []
    for src_name, damage, align in plan:
        src = source(src_name)
        off = place(rng, cursor, len(src.data), align)
        layout.append((src, damage, off))
        cursor = off + len(src.data)
    size = max(min_size, (cursor + MAX_GAP + MIB - 1) // MIB * MIB)
    img = Image(name, size, fill, seed)
    for src, damage, off in layout:
        img.plant(src, off, damage)
    path = os.path.join(out_dir, name + ".img")
    return img.write(path)


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

DAMAGE_PLAN = [
    ("infozip.zip", "truncated-50"), ("writer.docx", "truncated-50"), ("book.epub", "truncated-50"),
    ("pyzip.zip", "truncated-90"), ("calc.ods", "truncated-90"), ("hello.jar", "truncated-90"),
    ("7z.zip", "cd-overwritten"), ("writer.odt", "cd-overwritten"), ("pyzip-dd.zip", "cd-overwritten"),
    ("infozip-stored.zip", "eocd-missing"), ("calc.xlsx", "eocd-missing"), ("book.epub", "eocd-missing"),
    ("infozip.zip", "lfh-overwritten"), ("writer.docx", "lfh-overwritten"), ("pyzip64.zip", "lfh-overwritten"),
    ("infozip.zip", "zeroed-4k"), ("writer.docx", "zeroed-4k"), ("calc.xlsx", "zeroed-4k"), ("7z.zip", "zeroed-4k"),
    ("infozip-stored.zip", "bitflip"), ("pyzip-dd.zip", "bitflip"), ("writer.odt", "bitflip"), ("hello.jar", "bitflip"),
    # intact controls
    ("pyzip.zip", None), ("book.epub", None), ("pyzip64.zip", None),
]


def scenario_plans() -> dict:
    every = SOURCE_FILES
    return {
        "random-unaligned": ("random", [(s, None, a) for s in every for a in ("odd", "unaligned")]),
        "random-aligned": ("random", [(s, None, "sector") for s in every for _ in range(2)]),
        "zero-unaligned": ("zero", [(s, None, a) for s in every for a in ("odd", "unaligned")]),
        "zero-aligned": ("zero", [(s, None, "sector") for s in every for _ in range(2)]),
        "damaged-random": ("random", [(s, d, "unaligned" if i % 2 else "sector")
                                      for i, (s, d) in enumerate(DAMAGE_PLAN)]),
        "damaged-zero": ("zero", [(s, d, "sector" if i % 2 else "unaligned")
                                  for i, (s, d) in enumerate(DAMAGE_PLAN)]),
        "nested": ("random", [("nested.zip", None, "odd"), ("nested.zip", None, "sector"),
                              ("infozip-stored.zip", None, "unaligned")]),
    }


def build_demo(img_path: str) -> dict:
    plan = [
        ("writer.docx", None, "odd"), ("writer.odt", None, "odd"), ("book.epub", None, "odd"),
        ("hello.jar", None, "odd"), ("infozip.zip", None, "odd"), ("pyzip-dd.zip", None, "odd"),
        ("pyzip64.zip", None, "odd"), ("calc.xlsx", None, "unaligned"), ("7z.zip", None, "sector"),
        ("infozip-stored.zip", None, "sector"),
        ("pyzip.zip", "bitflip", "unaligned"), ("infozip.zip", "truncated-50", "unaligned"),
        ("7z.zip", "cd-overwritten", "odd"), ("nested.zip", None, "odd"),
    ]
    out_dir = os.path.dirname(os.path.abspath(img_path))
    name = os.path.basename(img_path)
    name = name[:-4] if name.endswith(".img") else name
    # Seeded by "demo" whatever the file is called, so any path gives the same bytes.
    truth = build(name, "random", plan, out_dir, min_size=2 * MIB, seed_name="demo")
    if os.path.basename(img_path) != name + ".img":
        os.replace(os.path.join(out_dir, name + ".img"), img_path)
    assert truth["size"] <= 8 * MIB
    return truth


# ---- FAT32 -----------------------------------------------------------------

FAT_SIZE = 40 * MIB
FAT_VOLUME_ID = "5a1e0032"
FAT_MTIME = 1704110400  # 2024-01-01T12:00:00Z
FAT_DELETED = ["infozip-stored.zip", "pyzip-dd.zip", "writer.odt", "hello.jar"]


def tool(name: str) -> str:
    p = shutil.which(name) or next((d + "/" + name for d in ("/usr/sbin", "/sbin", "/usr/bin")
                                    if os.path.exists(d + "/" + name)), None)
    if not p:
        sys.exit("generate.py: %s not found (apt-get install dosfstools mtools)" % name)
    return p


def build_fat32(out_dir: str) -> dict:
    name = "fat32"
    rng = Random(seed_for(name))
    img_path = os.path.join(out_dir, name + ".img")
    env = dict(os.environ, TZ="UTC", LC_ALL="C", MTOOLS_SKIP_CHECK="1",
               MTOOLSRC="/dev/null", SOURCE_DATE_EPOCH=str(FAT_MTIME))
    run = lambda *a: subprocess.run(a, check=True, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
    if os.path.exists(img_path):
        os.remove(img_path)
    with open(img_path, "wb") as f:
        f.truncate(FAT_SIZE)
    # 512-byte clusters: FAT32 needs >= 65525 clusters, which a 40 MiB volume
    # only has with -s 1 (with -s 8 mtools rightly treats it as FAT16).
    # --invariant first: it also sets a volume id, which -i then overrides.
    run(tool("mkfs.vfat"), "--invariant", "-F", "32", "-S", "512", "-s", "1",
        "-i", FAT_VOLUME_ID, "-n", "SALVORTEST", img_path)
    with tempfile.TemporaryDirectory(prefix="salvor-fat32-") as tmp:
        files = []
        for i in range(len(SOURCE_FILES)):  # plain text files between the archives
            words = " ".join("%s%d" % (rng.choice(["sector", "cluster", "carve", "archive",
                                                    "header", "record", "chain"]),
                                       rng.randrange(1000)) for _ in range(rng.randint(1200, 3000)))
            files.append(("notes-%d.txt" % i, (words + "\n").encode()))
        order = [(n, source(n).data) for n in SOURCE_FILES]
        # interleave text files between archives
        merged = []
        for i, entry in enumerate(order):
            merged.append(entry)
            merged.append(files.pop(0))
        merged.extend(files)
        for fname, data in merged:
            p = os.path.join(tmp, fname)
            with open(p, "wb") as f:
                f.write(data)
            os.utime(p, (FAT_MTIME, FAT_MTIME))
            run(tool("mcopy"), "-i", img_path, "-m", "-o", p, "::/" + fname)
    for fname in FAT_DELETED:
        run(tool("mdel"), "-i", img_path, "::/" + fname)
    with open(img_path, "rb") as f:
        data = f.read()
    items = []
    for n in SOURCE_FILES:
        src = source(n)
        pos = data.find(src.data)
        assert pos >= 0, "%s not found contiguous in fat32 image" % n
        assert data.find(src.data, pos + 1) == -1, "%s found twice" % n
        items.append(make_item(src, pos, len(src.data), src.data, "intact", None, None, None))
    truth = make_truth(name + ".img", len(data), sha256(data), "fat32", items)
    write_truth(img_path, truth)
    return truth


# ---- benchmark image --------------------------------------------------------

def build_bench(size_mib: int, img_path: str, plants: int, seed: int) -> dict:
    size = size_mib * MIB
    rng = Random(seed)
    srcs = [source(n) for n in SOURCE_FILES]
    maxlen = max(len(s.data) for s in srcs)
    need = maxlen + 2 * MIN_GAP + 1024
    plants = max(1, min(plants, size // need))
    slot = size // plants
    layout = []
    order = []
    for i in range(plants):
        if not order:
            order = list(srcs)
            rng.shuffle(order)
        src = order.pop()
        lo = i * slot + MIN_GAP
        hi = (i + 1) * slot - MIN_GAP - len(src.data)
        off = rng.randrange(lo, hi)
        if i % 2:
            off = off // 512 * 512
            if off < lo:
                off += 512
        elif off % 512 == 0:
            off += 1
        layout.append((off, src))
    items = [make_item(s, o, len(s.data), s.data, "intact", None, None, None)
             for o, s in layout]
    fill = Random(seed ^ 0xB17E5)
    h = hashlib.sha256()
    k = 0
    with open(img_path, "wb") as f:
        for start in range(0, size, MIB):
            n = min(MIB, size - start)
            block = bytearray(fill.randbytes(n))
            end = start + n
            while k < len(layout) and layout[k][0] + len(layout[k][1].data) <= start:
                k += 1
            j = k
            while j < len(layout) and layout[j][0] < end:
                o, s = layout[j]
                a, b = max(o, start), min(o + len(s.data), end)
                block[a - start:b - start] = s.data[a - o:b - o]
                j += 1
            h.update(block)
            f.write(block)
    truth = make_truth(os.path.basename(img_path), size, h.hexdigest(), "random", items)
    write_truth(img_path, truth)
    return truth


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def check(truth_file: str, full: bool = True) -> list[str]:
    """Re-verify an image against its truth; returns a list of problems."""
    errs = []
    with open(truth_file, encoding="utf-8") as f:
        truth = json.load(f)
    img_path = os.path.join(os.path.dirname(truth_file), truth["image"])
    if os.path.getsize(img_path) != truth["size"]:
        errs.append("size")
    with open(img_path, "rb") as f:
        if full:
            h = hashlib.sha256()
            for blk in iter(lambda: f.read(MIB), b""):
                h.update(blk)
            if h.hexdigest() != truth["sha256"]:
                errs.append("image sha256")
        prev_end = 0
        for it in truth["items"]:
            f.seek(it["offset"])
            ext = f.read(it["length"])
            tag = "%s@%d" % (it["source"], it["offset"])
            if it["offset"] < prev_end + MIN_GAP and prev_end:
                errs.append(tag + ": too close to previous item")
            src = source(os.path.basename(it["source"]))
            prev_end = it["offset"] + len(src.data)
            if sha256(ext) != it["sha256"]:
                errs.append(tag + ": sha256")
            for m in it["members"]:
                if it["status"] == "intact":
                    f.seek(m["header_offset"])
                    if f.read(4) != b"PK\x03\x04":
                        errs.append(tag + ": member header " + m["name"])
            if it["status"] == "intact":
                if ext != src.data:
                    errs.append(tag + ": differs from source")
                try:
                    zf = zipfile.ZipFile(io.BytesIO(ext))
                    if zf.testzip() is not None or len(zf.infolist()) != len(it["members"]):
                        errs.append(tag + ": zipfile test")
                except zipfile.BadZipFile as e:
                    errs.append(tag + ": zipfile: %s" % e)
                for c in it["children"]:
                    f.seek(c["offset"])
                    cb = f.read(c["length"])
                    if sha256(cb) != c["sha256"] or zipfile.ZipFile(io.BytesIO(cb)).testzip():
                        errs.append(tag + ": child")
            elif it["damage"] == "eocd-missing":
                f.seek(it["offset"] + it["length"])
                if ext != src.data[:len(ext)] or f.read(4) == b"PK\x05\x06":
                    errs.append(tag + ": EOCD not removed")
            elif it["status"] == "truncated":
                if ext != src.data[:it["surviving_length"]] or \
                        sha256(ext) != it["sha256_surviving"]:
                    errs.append(tag + ": surviving bytes")
            else:
                if ext == src.data[:len(ext)]:
                    errs.append(tag + ": damaged item is not damaged")
    return errs


def summary(truth: dict) -> str:
    counts = {}
    for it in truth["items"]:
        counts[it["status"]] = counts.get(it["status"], 0) + 1
    return "%-24s %10d bytes  %s" % (truth["image"], truth["size"],
                                     " ".join("%s=%d" % kv for kv in sorted(counts.items())))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output directory (scenarios) or image file (--bench)")
    ap.add_argument("--demo", metavar="IMG", help="build the small committed demo image")
    ap.add_argument("--bench", type=int, metavar="SIZE_MIB", help="build a big benchmark image")
    ap.add_argument("--plants", type=int, default=400, help="plants in the --bench image")
    ap.add_argument("--seed", type=int, default=BASE_SEED, help="seed for --bench")
    ap.add_argument("--only", action="append", help="build only this scenario (repeatable)")
    ap.add_argument("--no-check", action="store_true", help="skip re-verification")
    ap.add_argument("--check", nargs="+", metavar="PATH",
                    help="verify truth files (or directories of them) and exit")
    a = ap.parse_args(argv)

    if a.check:
        bad = 0
        for p in a.check:
            files = [os.path.join(p, x) for x in sorted(os.listdir(p)) if x.endswith(".truth.json")] \
                if os.path.isdir(p) else [p]
            for t in files:
                errs = check(t)
                print("%-40s %s" % (os.path.basename(t), "ok" if not errs else "; ".join(errs[:5])))
                bad += bool(errs)
        return 1 if bad else 0

    if a.demo:
        truth = build_demo(a.demo)
        print(summary(truth))
        if not a.no_check:
            errs = check(truth_path_for(a.demo))
            assert not errs, errs
        return 0

    if a.bench:
        if not a.out:
            ap.error("--bench needs --out FILE")
        truth = build_bench(a.bench, a.out, a.plants, a.seed)
        print(summary(truth))
        if not a.no_check:
            errs = check(truth_path_for(a.out), full=False)
            assert not errs, errs
        return 0

    out = a.out or os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    truths = []
    for name, (fill, plan) in scenario_plans().items():
        if a.only and name not in a.only:
            continue
        truths.append(build(name, fill, plan, out))
    if not a.only or "fat32" in a.only:
        truths.append(build_fat32(out))
    for t in truths:
        print(summary(t))
        if not a.no_check:
            errs = check(truth_path_for(os.path.join(out, t["image"])))
            assert not errs, (t["image"], errs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
