#!/usr/bin/env python3
"""Deterministic FRAGMENTED-archive test images with exact ground truth (issue 8).

Python 3.11 standard library; the fat-* images also run mkfs.vfat (dosfstools)
and mcopy/mdel (mtools) on image files (nothing is mounted).

    python3 testimages/fragments.py --out DIR      build all images, then self-check
    python3 testimages/fragments.py --check DIR    re-verify DIR/*.truth.json

Every image NAME.img gets NAME.truth.json beside it; each item lists its byte
runs in LOGICAL order (see README.md, "Fragmented images"). Some items are
archives generated here (stored Python-zipfile archives whose local headers sit
on / straddle 4 KiB boundaries); they are written to DIR/generated/.
All randomness is random.Random seeded from a constant and the image name; no
clock affects the bytes, mtools runs with fixed mtimes under TZ=UTC.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from random import Random

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate  # noqa: E402  (the shared Source parser and helpers)

MIB = 1 << 20
BASE_SEED = 0x5A1E_F4A6
FAT_MTIME = 1704110400  # 2024-01-01T12:00:00Z
sha256 = generate.sha256


def seed_for(name: str) -> int:
    return BASE_SEED ^ int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


# --------------------------------------------------------------------------
# Sources: the committed ones, plus generated archives with aligned headers
# --------------------------------------------------------------------------

GEN_NAMES = ["gen-%d.zip" % i for i in range(1, 9)]  # 7, 8: ~100 KiB, for 32 KiB clusters
_GEN: dict[str, generate.Source] = {}


def make_gen(idx: int) -> bytes:
    """A stored zip whose member boundaries are placed relative to 4096-byte
    multiples: 'exact' = the next local header starts exactly on one,
    'mid' = a multiple falls inside the next local header (1..hdr-1 bytes in).
    Stored members only, so the bytes do not depend on the zlib build."""
    rng = Random(seed_for("gen-%d" % idx))
    text = b""
    for n in ("words.txt", "report.html", "sheet.csv", "book.md"):
        with open(os.path.join(HERE, "sources", "inputs", n), "rb") as f:
            text += f.read()
    plan = ["free", "exact", "free", "mid", "free", "exact", "mid", "free"]
    rot = idx % 3
    plan = plan[rot:] + plan[:rot]
    big = idx >= 7
    if big:
        plan = plan * 2
    bio = io.BytesIO()
    zf = zipfile.ZipFile(bio, "w", zipfile.ZIP_STORED)
    off, expect = 0, []
    for j, kind in enumerate(plan):
        name = "g%d/part-%02d.txt" % (idx, j)
        hdr = 30 + len(name)
        nxt_hdr = 30 + len("g%d/part-%02d.txt" % (idx, j + 1))
        if kind == "free" or j == len(plan) - 1:
            n = rng.randint(4000, 9000) if big else rng.randint(700, 3000)
        else:
            b = cdiv(off + hdr + 600, 4096) * 4096
            nxt = b if kind == "exact" else b - rng.randint(1, nxt_hdr - 1)
            n = nxt - off - hdr
        start = rng.randrange(0, len(text) - n)
        zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 12, 0, 0))
        zi.create_system = 3
        zi.external_attr = 0o644 << 16
        zi.compress_type = zipfile.ZIP_STORED
        zf.writestr(zi, text[start:start + n])
        expect.append(off)
        off += hdr + n
    zf.close()
    d = bio.getvalue()
    got = [zi.header_offset for zi in zipfile.ZipFile(io.BytesIO(d)).infolist()]
    assert got == expect, (got, expect)
    return d


def write_generated(out: str) -> None:
    gdir = os.path.join(out, "generated")
    os.makedirs(gdir, exist_ok=True)
    for i, n in enumerate(GEN_NAMES, 1):
        p = os.path.join(gdir, n)
        with open(p, "wb") as f:
            f.write(make_gen(i))
        s = generate.Source(p)  # absolute path: os.path.join keeps it as is
        s.name, s.rel = n, "generated/" + n
        _GEN[n] = s


def src(name: str) -> generate.Source:
    return _GEN[name] if name in _GEN else generate.source(name)


def where(s: generate.Source, off: int) -> dict:
    """Classify a logical split offset (bytes [0,off) before, [off,..) after)."""
    if off >= s.cd_off:
        return {"offset": off, "where": "central-directory", "member": None}
    for i, m in enumerate(s.members):
        a, b = m["_data_offset"], m["_data_offset"] + m["compressed_size"]
        ho = m["header_offset"]
        if off == ho:
            return {"offset": off, "where": "member-boundary", "member": m["name"]}
        if ho < off < a or (off == a and m["compressed_size"]):
            return {"offset": off, "where": "local-header", "member": m["name"]}
        if a < off < b:
            return {"offset": off, "where": "inside-member", "member": m["name"]}
    return {"offset": off, "where": "data-descriptor", "member": None}


def split_summary(splits: list) -> str | None:
    if not splits:
        return None
    w = [s["where"] for s in splits]
    if "inside-member" in w:
        return "inside-member"
    if any(x in ("member-boundary", "local-header", "data-descriptor") for x in w):
        return "between-members"
    return "central-directory"


def candidates(s: generate.Source, cs: int, kind: str) -> list[int]:
    """Cluster-multiple split offsets of the wanted kind (never in the CD)."""
    out = []
    for k in range(1, len(s.data) // cs + 1):
        w = where(s, k * cs)["where"]
        if w == "central-directory":
            continue
        if (kind == "inside-member") == (w == "inside-member"):
            out.append(k * cs)
    return out


# --------------------------------------------------------------------------
# Truth items
# --------------------------------------------------------------------------

def make_item(s: generate.Source, runs: list, cs: int, origin: int, allocated) -> dict:
    runs = [list(r) for r in runs]
    splits, pos = [], 0
    for o, ln in runs[:-1]:
        pos += ln
        splits.append(where(s, pos))
    gaps = []
    for (a, la), (b, _) in zip(runs, runs[1:]):
        d = b - (a + cdiv(la, cs) * cs)
        assert d % cs == 0
        gaps.append(d // cs)
    starts = [r[0] for r in runs]
    if len(runs) == 1:
        order = None
    elif starts == sorted(starts):
        order = "in-order"
    else:
        order = "swapped" if len(runs) == 2 else "scrambled"
    members = [{"name": m["name"], "crc32": m["crc32"], "size": m["size"],
                "compressed_size": m["compressed_size"], "method": m["method"],
                "logical_header_offset": m["header_offset"]} for m in s.members]
    return {"source": s.rel, "type": s.type,
            "status": "reassembled" if len(runs) > 1 else "intact",
            "runs": runs, "length": len(s.data), "sha256": s.sha,
            "split": split_summary(splits), "splits": splits, "order": order,
            "gap_clusters": gaps, "allocated": allocated, "members": members}


def write_truth(out: str, name: str, data: bytes, cs: int, origin: int, fs, items: list,
                decoys: list, notes: str) -> dict:
    items = sorted(items, key=lambda it: min(r[0] for r in it["runs"]))
    truth = {"image": name + ".img", "size": len(data), "sha256": sha256(data),
             "cluster_size": cs, "cluster_origin": origin, "filesystem": fs,
             "notes": notes, "items": items, "decoys": decoys}
    with open(os.path.join(out, name + ".truth.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return truth


# --------------------------------------------------------------------------
# Synthetic cluster-grid images (no filesystem)
# --------------------------------------------------------------------------

class Synth:
    def __init__(self, name: str, cs: int):
        self.name, self.cs = name, cs
        self.seed = seed_for(name)
        self.rng = Random(self.seed)
        self.blocks = []  # (offset, bytes)
        self.cur = self.rng.randint(8, 32)  # cursor, in clusters
        self.items, self.decoys = [], []

    def skip(self, lo=2, hi=9):
        self.cur += self.rng.randint(lo, hi)

    def put(self, data: bytes) -> int:
        off = self.cur * self.cs
        self.blocks.append((off, data))
        self.cur += cdiv(len(data), self.cs)
        return off

    def control(self, name: str):
        self.skip()
        s = src(name)
        self.items.append(make_item(s, [(self.put(s.data), len(s.data))], self.cs, 0, None))

    def frag(self, name: str, splits: list[int], layout: list):
        """layout: physical sequence of ('f', logical piece index), ('g', clusters of
        random fill) and ('d', bytes, decoy-description)."""
        s = src(name)
        bounds = [0] + list(splits) + [len(s.data)]
        pieces = [s.data[a:b] for a, b in zip(bounds, bounds[1:])]
        runs = [None] * len(pieces)
        self.skip()
        for el in layout:
            if el[0] == "f":
                runs[el[1]] = (self.put(pieces[el[1]]), len(pieces[el[1]]))
            elif el[0] == "g":
                self.cur += el[1]
            else:
                off = self.put(el[1])
                self.decoys.append(dict(el[2], offset=off, length=len(el[1]),
                                        sha256=sha256(el[1]), near=s.rel))
        assert None not in runs
        self.items.append(make_item(s, runs, self.cs, 0, None))

    def write(self, out: str, notes: str) -> dict:
        size = cdiv((self.cur + self.rng.randint(8, 32)) * self.cs, MIB) * MIB
        buf = bytearray(Random(self.seed ^ 0xB17E5).randbytes(size))
        for off, data in self.blocks:
            buf[off:off + len(data)] = data
        data = bytes(buf)
        with open(os.path.join(out, self.name + ".img"), "wb") as f:
            f.write(data)
        return write_truth(out, self.name, data, self.cs, 0, None, self.items, self.decoys, notes)


def pick(rng: Random, name: str, cs: int, kind: str, n: int = 1, max_tail: int | None = None):
    c = candidates(src(name), cs, kind)
    if max_tail is not None:
        c = [x for x in c if len(src(name).data) - x <= max_tail]
    assert len(c) >= n, (name, cs, kind, c)
    return sorted(rng.sample(c, n))


BIFRAG_PLANS = {
    # (source, split kind, gap in clusters)
    "bifrag-512": ([("writer.docx", "between-members", 1), ("infozip.zip", "inside-member", 1),
                    ("book.epub", "between-members", 7), ("7z.zip", "inside-member", 7),
                    ("hello.jar", "between-members", 100), ("calc.xlsx", "inside-member", 100),
                    ("calc.ods", "between-members", 1000), ("writer.odt", "inside-member", 1000)],
                   ["pyzip.zip", "pyzip64.zip", "nested.zip"]),
    "bifrag-4k": ([("gen-1.zip", "between-members", 1), ("infozip.zip", "inside-member", 1),
                   ("gen-2.zip", "between-members", 7), ("writer.docx", "inside-member", 7),
                   ("gen-3.zip", "between-members", 100), ("calc.xlsx", "inside-member", 100),
                   ("gen-4.zip", "between-members", 1000), ("writer.odt", "inside-member", 1000)],
                  ["book.epub", "hello.jar", "pyzip.zip"]),
}


def build_bifrag(out: str, name: str) -> dict:
    cs = 512 if name.endswith("512") else 4096
    img = Synth(name, cs)
    plan, controls = BIFRAG_PLANS[name]
    seq = [("f",) + p for p in plan] + [("c", c) for c in controls]
    img.rng.shuffle(seq)
    for el in seq:
        if el[0] == "c":
            img.control(el[1])
        else:
            _, sname, kind, gap = el
            img.frag(sname, pick(img.rng, sname, cs, kind), [("f", 0), ("g", gap), ("f", 1)])
    return img.write(out, "two fragments each, in order; fragment 1 cluster-aligned; "
                          "gap = random fill of gap_clusters clusters")


def build_swapped(out: str) -> dict:
    img = Synth("swapped-4k", 4096)
    plan = [("writer.odt", "inside-member", 1), ("gen-5.zip", "between-members", 3),
            ("calc.ods", "inside-member", 5), ("gen-6.zip", "between-members", 2),
            ("infozip.zip", "inside-member", 4)]
    for i, (sname, kind, gap) in enumerate(plan):
        if i in (1, 3):
            img.control(["7z.zip", "pyzip.zip"][i // 2])
        img.frag(sname, pick(img.rng, sname, 4096, kind), [("f", 1), ("g", gap), ("f", 0)])
    img.control("book.epub")
    return img.write(out, "two fragments each, fragment 2 physically BEFORE fragment 1, "
                          "a few clusters of random fill between them")


def build_three(out: str) -> dict:
    img = Synth("three-4k", 4096)
    r = img.rng
    img.control("book.epub")
    # members whole inside fragments: both splits at a member boundary / in a local header
    img.frag("gen-1.zip", pick(r, "gen-1.zip", 4096, "between-members", 2),
             [("f", 0), ("g", 3), ("f", 1), ("g", 11), ("f", 2)])
    img.frag("writer.odt", pick(r, "writer.odt", 4096, "inside-member", 2),
             [("f", 0), ("g", 2), ("f", 1), ("g", 6), ("f", 2)])
    img.control("pyzip.zip")
    img.frag("gen-2.zip", pick(r, "gen-2.zip", 4096, "between-members", 2),
             [("f", 2), ("g", 4), ("f", 0), ("g", 9), ("f", 1)])
    img.frag("calc.ods", pick(r, "calc.ods", 4096, "inside-member", 2),
             [("f", 1), ("g", 5), ("f", 2), ("g", 1), ("f", 0)])
    img.frag("infozip.zip", pick(r, "infozip.zip", 4096, "inside-member", 2),
             [("f", 2), ("g", 2), ("f", 1), ("g", 7), ("f", 0)])
    img.control("hello.jar")
    return img.write(out, "three fragments each; gen-1/gen-2 split only between members, "
                          "the others inside members; in order and scrambled")


def flipped_copy(s: generate.Source, split: int, rng: Random) -> bytes:
    """The missing fragment (s.data[split:]) with one bit flipped in member data,
    such that fragment1 + this fails zipfile (a same-source decoy)."""
    def span(m):
        return max(m["_data_offset"], split), m["_data_offset"] + m["compressed_size"]
    cands = [m for m in s.members if span(m)[1] - span(m)[0] >= 256]
    assert cands, s.name
    while True:
        a, b = span(cands[rng.randrange(len(cands))])
        d = bytearray(s.data)
        d[rng.randrange(a + (b - a) // 4, b - (b - a) // 4)] ^= 1 << rng.randrange(8)
        try:
            bad = zipfile.ZipFile(io.BytesIO(bytes(d))).testzip() is not None
        except Exception:
            bad = True
        if bad:
            return bytes(d[split:])


def build_decoy(out: str) -> dict:
    cs = 4096
    img = Synth("decoy-4k", cs)
    r = img.rng
    plan = [("writer.odt", "inside-member"), ("gen-3.zip", "between-members"),
            ("calc.ods", "inside-member"), ("infozip.zip", "inside-member")]
    others = ["7z.zip", "calc.xlsx", "writer.docx", "book.epub", "infozip-stored.zip",
              "pyzip-dd.zip", "pyzip64.zip", "gen-4.zip", "gen-5.zip", "gen-6.zip"]
    img.control("pyzip.zip")
    for i, (sname, kind) in enumerate(plan):
        s = src(sname)
        split = pick(r, sname, cs, kind, max_tail=20000)[0]
        need = len(s.data) - split

        def other_chunk():
            o = [n for n in others if len(src(n).data) >= need]
            n = o[r.randrange(len(o))]
            k = (len(src(n).data) - need) // cs
            k = r.choice([k, r.randint(0, k)])
            return (src(n).data[k * cs:k * cs + need],
                    {"kind": "other-archive", "source": src(n).rel, "logical_offset": k * cs})
        a, b, c = other_chunk(), other_chunk(), other_chunk()
        flip = (flipped_copy(s, split, r),
                {"kind": "same-archive-bitflip", "source": s.rel, "logical_offset": split})
        inside = [("d",) + a, ("d",) + flip, ("d",) + b]
        r.shuffle(inside)
        layout = [("f", 0), ("g", r.randint(0, 3))]
        for el in inside:
            layout += [el, ("g", r.randint(0, 4))]
        layout += [("f", 1), ("g", r.randint(0, 2)), ("d",) + c]
        img.frag(sname, [split], layout)
        if i == 1:
            img.control("hello.jar")
    return img.write(out, "bifragments; the gap holds decoys of exactly the missing "
                          "fragment's length: cluster-aligned chunks of other archives "
                          "and a copy of the missing fragment with one bit flipped; one more "
                          "decoy right after fragment 2 (listed under 'decoys')")


# --------------------------------------------------------------------------
# FAT images, fragmented by the mtools allocator
# --------------------------------------------------------------------------

def fat_geometry(img: bytes) -> dict:
    bps, spc, rsv, nf, rootent, tot16, _media, fsz16 = struct.unpack_from("<HBHBHHBH", img, 11)
    tot32, fsz32 = struct.unpack_from("<II", img, 32)[0], struct.unpack_from("<I", img, 36)[0]
    fsz = fsz16 or fsz32
    tot = tot16 or tot32
    rootsecs = cdiv(rootent * 32, bps)
    data_sec = rsv + nf * fsz + rootsecs
    nclus = (tot - data_sec) // spc
    fs = "FAT12" if nclus < 4085 else "FAT16" if nclus < 65525 else "FAT32"
    return {"cs": bps * spc, "fat_off": rsv * bps, "data_off": data_sec * bps, "fs": fs,
            "nclus": nclus, "root_off": (rsv + nf * fsz) * bps, "root_len": rootent * 32,
            "root_clus": struct.unpack_from("<I", img, 44)[0] if fs == "FAT32" else None,
            "fsinfo": struct.unpack_from("<H", img, 48)[0] if fs == "FAT32" else None, "bps": bps}


def fat_entry(img: bytes, g: dict, n: int) -> int:
    if g["fs"] == "FAT12":
        v = struct.unpack_from("<H", img, g["fat_off"] + n * 3 // 2)[0]
        return v >> 4 if n & 1 else v & 0xFFF
    if g["fs"] == "FAT16":
        return struct.unpack_from("<H", img, g["fat_off"] + 2 * n)[0]
    return struct.unpack_from("<I", img, g["fat_off"] + 4 * n)[0] & 0x0FFFFFFF


def fat_chain(img: bytes, g: dict, first: int) -> list[int]:
    eoc = {"FAT12": 0xFF8, "FAT16": 0xFFF8, "FAT32": 0x0FFFFFF8}[g["fs"]]
    out, n = [], first
    while 2 <= n < eoc:
        assert n not in out and len(out) <= g["nclus"]
        out.append(n)
        n = fat_entry(img, g, n)
    return out


def fat_root(img: bytes, g: dict) -> dict:
    """Short name -> (first cluster, size) of live root directory entries."""
    if g["fs"] == "FAT32":
        raw = b"".join(img[g["data_off"] + (c - 2) * g["cs"]:][:g["cs"]]
                       for c in fat_chain(img, g, g["root_clus"]))
    else:
        raw = img[g["root_off"]:g["root_off"] + g["root_len"]]
    out = {}
    for i in range(0, len(raw), 32):
        e = raw[i:i + 32]
        if e[0] == 0:
            break
        if e[0] == 0xE5 or e[11] == 0x0F or e[11] & 0x18:
            continue
        name = e[:8].decode("ascii").rstrip() + "." + e[8:11].decode("ascii").rstrip()
        hi, lo, size = struct.unpack_from("<H", e, 20)[0], struct.unpack_from("<H", e, 26)[0], \
            struct.unpack_from("<I", e, 28)[0]
        out[name] = ((hi << 16 | lo) if g["fs"] == "FAT32" else lo, size)
    return out


def chain_runs(g: dict, chain: list[int], size: int) -> list:
    runs = []
    for c in chain:
        off = g["data_off"] + (c - 2) * g["cs"]
        if runs and runs[-1][0] + runs[-1][1] == off:
            runs[-1][1] += g["cs"]
        else:
            runs.append([off, g["cs"]])
    excess = sum(r[1] for r in runs) - size
    assert 0 <= excess < g["cs"]
    runs[-1][1] -= excess
    return runs


FAT_PLANS = {
    # name: (MiB, sectors per cluster, -F, filler clusters (lo, hi), fillers, plan)
    # plan roles: frag-del (fragmented, deleted), frag-alloc (fragmented, still allocated),
    # contig-del / contig-alloc (controls, copied before the holes were made)
    "fat-512": (40, 1, 32, (8, 20), 80,
                [("writer.odt", "frag-del"), ("calc.ods", "frag-del"), ("infozip.zip", "frag-del"),
                 ("7z.zip", "frag-del"), ("calc.xlsx", "frag-del"), ("writer.docx", "frag-del"),
                 ("book.epub", "frag-alloc"), ("pyzip.zip", "contig-del"),
                 ("hello.jar", "contig-alloc"), ("pyzip-dd.zip", "contig-alloc"),
                 ("nested.zip", "contig-alloc")]),
    "fat-4k": (24, 8, 16, (1, 3), 64,
               [("writer.odt", "frag-del"), ("calc.ods", "frag-del"), ("infozip.zip", "frag-del"),
                ("7z.zip", "frag-del"), ("calc.xlsx", "frag-del"), ("writer.docx", "frag-del"),
                ("infozip-stored.zip", "frag-alloc"), ("pyzip.zip", "contig-del"),
                ("hello.jar", "contig-alloc"), ("book.epub", "contig-alloc"),
                ("pyzip64.zip", "contig-alloc")]),
    "fat-32k": (16, 64, 12, (1, 1), 24,
                [("writer.odt", "frag-del"), ("calc.ods", "frag-del"), ("gen-7.zip", "frag-del"),
                 ("gen-8.zip", "frag-alloc"), ("infozip.zip", "contig-del"),
                 ("hello.jar", "contig-alloc"), ("writer.docx", "contig-alloc"),
                 ("pyzip.zip", "contig-alloc")]),
}


def build_fat(out: str, name: str) -> dict:
    mib, spc, bits, (hlo, hhi), nfill, plan = FAT_PLANS[name]
    rng = Random(seed_for(name))
    img_path = os.path.join(out, name + ".img")
    env = dict(os.environ, TZ="UTC", LC_ALL="C", MTOOLS_SKIP_CHECK="1",
               MTOOLSRC="/dev/null", SOURCE_DATE_EPOCH=str(FAT_MTIME))

    def run(*a):
        subprocess.run(a, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    if os.path.exists(img_path):
        os.remove(img_path)
    with open(img_path, "wb") as f:
        f.truncate(mib * MIB)
    run(generate.tool("mkfs.vfat"), "--invariant", "-F", str(bits), "-S", "512", "-s", str(spc),
        "-i", "5a1e%04x" % (spc * 16 + bits), "-n", "SALVORFRAG", img_path)
    with open(img_path, "rb") as f:
        g = fat_geometry(f.read())
    assert g["fs"] == "FAT%d" % bits, (name, g["fs"])
    cs = g["cs"]
    names = {}  # source -> 8.3 name on the volume
    with tempfile.TemporaryDirectory(prefix="salvor-frag-") as tmp:
        def copy(fname: str, data: bytes):
            p = os.path.join(tmp, fname)
            with open(p, "wb") as f:
                f.write(data)
            os.utime(p, (FAT_MTIME, FAT_MTIME))
            run(generate.tool("mcopy"), "-i", img_path, "-m", "-o", p, "::/" + fname)

        contig = [s for s, role in plan if role.startswith("contig")]
        frags = [s for s, role in plan if role == "frag-alloc"] + \
            [s for s, role in plan if role == "frag-del"]
        for i, s in enumerate(plan):
            names[s[0]] = "A%02d.%s" % (i, src(s[0]).type.upper()[:3])
        # phase 1: fillers with the contiguous controls between them
        slots = sorted(rng.sample(range(1, nfill), len(contig)))
        fillers = []
        for i in range(nfill):
            if slots and slots[0] == i:
                slots.pop(0)
                c = contig.pop(0)
                copy(names[c], src(c).data)
            fname = "F%02d.BIN" % i
            n = rng.randint(hlo, hhi) * cs - rng.randrange(0, min(cs, 400))
            copy(fname, rng.randbytes(n))
            fillers.append(fname)
        # phase 2: every other filler deleted -> holes of hlo..hhi clusters
        run(generate.tool("mdel"), "-i", img_path, *["::/" + f for f in fillers[1::2]])
        if g["fs"] == "FAT32":
            # mtools allocates from the FSInfo next-free hint, so on FAT32 it would never
            # reuse the holes; "unknown" (0xFFFFFFFF, allowed by the spec) makes it scan
            # from cluster 2 like FAT12/16.
            with open(img_path, "r+b") as f:
                f.seek(g["fsinfo"] * g["bps"] + 492)
                f.write(struct.pack("<I", 0xFFFFFFFF))
        # phase 3: the archives to be fragmented land in the holes, first fit
        for s in frags:
            copy(names[s], src(s).data)
    with open(img_path, "rb") as f:
        before = f.read()
    root = fat_root(before, g)
    runs = {}
    for s, role in plan:
        first, size = root[names[s]]
        assert size == len(src(s).data)
        runs[s] = chain_runs(g, fat_chain(before, g, first), size)
        assert (len(runs[s]) > 1) == role.startswith("frag"), (name, s, role, runs[s])
    # phase 4: delete: the clusters stay, the chain is gone
    dels = [s for s, role in plan if role.endswith("-del")]
    run(generate.tool("mdel"), "-i", img_path, *["::/" + names[s] for s in dels])
    with open(img_path, "rb") as f:
        data = f.read()
    root = fat_root(data, g)
    items = []
    for s, role in plan:
        alloc = not role.endswith("-del")
        assert (names[s] in root) == alloc
        for o, ln in runs[s]:
            for c in range(cdiv(ln, cs)):
                cl = (o - g["data_off"]) // cs + 2 + c
                assert (fat_entry(data, g, cl) != 0) == alloc, (s, cl)
        assert b"".join(data[o:o + ln] for o, ln in runs[s]) == src(s).data
        it = make_item(src(s), runs[s], cs, g["data_off"], alloc)
        it["fat_name"] = names[s]
        items.append(it)
    return write_truth(out, name, data, cs, g["data_off"], g["fs"], items, [],
                       "%s, %d-byte clusters; %d filler files copied (contiguous controls "
                       "between them), every other filler deleted with mdel, then the "
                       "fragmented archives copied into the holes by mtools (first fit), then "
                       "the *-del archives deleted with mdel (FAT entries zeroed, data kept). "
                       "Runs read from the FAT chains before deletion." % (g["fs"], cs, nfill))


# --------------------------------------------------------------------------
# The same volumes behind a partition table (a whole-disk image)
# --------------------------------------------------------------------------

PART_BASE = 1 * MIB  # first partition at LBA 2048, as fdisk and parted place it


def mbr_entry(ptype: int, first: int, count: int) -> bytes:
    # CHS fields set to the "use LBA" maximum, as tools do for large disks.
    return struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", ptype, b"\xfe\xff\xff", first, count)


def gpt_disk(vol: bytes) -> bytes:
    """A GPT disk (protective MBR, primary header and entries, backup at the end) holding one
    Microsoft basic data partition with `vol` at LBA 2048."""
    import uuid
    import zlib
    lba = 512
    nent, esz = 128, 128
    part_lbas = cdiv(len(vol), lba)
    total = 2048 + part_lbas + 33 + 1
    disk = bytearray(total * lba)
    disk[PART_BASE:PART_BASE + len(vol)] = vol
    mbr = bytearray(512)
    mbr[446:462] = mbr_entry(0xEE, 1, min(total - 1, 0xFFFFFFFF))
    mbr[510:512] = b"\x55\xaa"
    disk[:512] = mbr
    basic = uuid.UUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7").bytes_le
    entry = bytearray(esz)
    entry[0:16] = basic
    entry[16:32] = uuid.UUID(int=0x5A1EF4A6).bytes_le
    struct.pack_into("<QQQ", entry, 32, 2048, 2048 + part_lbas - 1, 0)
    entry[56:56 + 2 * 6] = "SALVOR".encode("utf-16-le")
    entries = bytes(entry) + bytes(esz * (nent - 1))
    ecrc = zlib.crc32(entries)

    def header(this: int, other: int, elba: int) -> bytes:
        h = bytearray(92)
        h[0:8] = b"EFI PART"
        struct.pack_into("<IIIIQQQQ16sQIII", h, 8, 0x10000, 92, 0, 0, this, other,
                         34, total - 34, uuid.UUID(int=0x5A1E).bytes_le, elba, nent, esz, ecrc)
        struct.pack_into("<I", h, 16, zlib.crc32(bytes(h)))
        return bytes(h)

    disk[lba:lba + 92] = header(1, total - 1, 2)
    disk[2 * lba:2 * lba + len(entries)] = entries
    disk[(total - 33) * lba:(total - 33) * lba + len(entries)] = entries
    disk[(total - 1) * lba:(total - 1) * lba + 92] = header(total - 1, 1, total - 33)
    return bytes(disk)


def mbr_disk(vol: bytes, ptype: int) -> bytes:
    part_lbas = cdiv(len(vol), 512)
    disk = bytearray(PART_BASE + part_lbas * 512)
    disk[PART_BASE:PART_BASE + len(vol)] = vol
    disk[446:462] = mbr_entry(ptype, 2048, part_lbas)
    disk[440:444] = struct.pack("<I", 0x5A1EF4A6)
    disk[510:512] = b"\x55\xaa"
    return bytes(disk)


def build_partitioned(out: str, name: str, inner: str, table: str) -> dict:
    """NAME.img: the volume INNER.img behind an MBR or GPT, partition at 1 MiB; the truth's runs
    move with it."""
    with open(os.path.join(out, inner + ".img"), "rb") as f:
        vol = f.read()
    with open(os.path.join(out, inner + ".truth.json"), encoding="utf-8") as f:
        t = json.load(f)
    ptype = {"FAT12": 0x01, "FAT16": 0x06, "FAT32": 0x0C}[t["filesystem"]]
    disk = gpt_disk(vol) if table == "gpt" else mbr_disk(vol, ptype)
    with open(os.path.join(out, name + ".img"), "wb") as f:
        f.write(disk)
    items = []
    for it in t["items"]:
        it = dict(it, runs=[[o + PART_BASE, ln] for o, ln in it["runs"]])
        items.append(it)
    return write_truth(out, name, disk, t["cluster_size"], t["cluster_origin"] + PART_BASE,
                       t["filesystem"], items, [],
                       "%s.img as the only partition of a %s disk, at byte %d; %s"
                       % (inner, table.upper(), PART_BASE, t["notes"]))


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def check_truth(tf: str) -> list[str]:
    errs = []
    out = os.path.dirname(tf)
    with open(tf, encoding="utf-8") as f:
        t = json.load(f)
    with open(os.path.join(out, t["image"]), "rb") as f:
        img = f.read()
    if len(img) != t["size"] or sha256(img) != t["sha256"]:
        errs.append("image size/sha256")
    cs, origin = t["cluster_size"], t["cluster_origin"]
    spans = []
    for it in t["items"]:
        tag = it["source"]
        b = b"".join(img[o:o + ln] for o, ln in it["runs"])
        if len(b) != it["length"] or sha256(b) != it["sha256"]:
            errs.append(tag + ": sha256 of runs")
        sp = it["source"]
        sp = os.path.join(out, sp) if sp.startswith("generated/") else os.path.join(HERE, sp)
        with open(sp, "rb") as f:
            if f.read() != b:
                errs.append(tag + ": differs from source file")
        try:
            zf = zipfile.ZipFile(io.BytesIO(b))
            if zf.testzip() is not None:
                errs.append(tag + ": testzip")
            got = [("%08x" % z.CRC, z.filename) for z in zf.infolist()]
            if got != [(m["crc32"], m["name"]) for m in it["members"]]:
                errs.append(tag + ": members")
        except Exception as e:  # noqa: BLE001
            errs.append("%s: zipfile: %s" % (tag, e))
        if len(it["runs"]) > 1:
            for o, _ in it["runs"]:
                if (o - origin) % cs:
                    errs.append(tag + ": run at %d not on a cluster boundary" % o)
            if it["status"] != "reassembled":
                errs.append(tag + ": status")
        spans += [(o, o + ln, tag) for o, ln in it["runs"]]
    by_src = {it["source"]: it for it in t["items"]}
    for d in t.get("decoys", []):
        db = img[d["offset"]:d["offset"] + d["length"]]
        if sha256(db) != d["sha256"]:
            errs.append("decoy sha256")
        # fragment 1 + decoy in place of fragment 2 must never make a valid archive
        it = by_src[d["near"]]
        o, ln = it["runs"][0]
        fake = img[o:o + ln] + db
        try:
            ok = zipfile.ZipFile(io.BytesIO(fake)).testzip() is None
        except Exception:  # noqa: BLE001
            ok = False
        if ok or sha256(fake) == it["sha256"] or len(fake) != it["length"]:
            errs.append("decoy at %d assembles into a valid archive" % d["offset"])
        spans.append((d["offset"], d["offset"] + d["length"], "decoy"))
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        if b[0] < a[1]:
            errs.append("overlap: %s / %s" % (a[2], b[2]))
    return errs


def check_dir(out: str) -> int:
    write_generated_check(out)
    bad = 0
    rows = []
    for tf in sorted(x for x in os.listdir(out) if x.endswith(".truth.json")):
        errs = check_truth(os.path.join(out, tf))
        with open(os.path.join(out, tf), encoding="utf-8") as f:
            t = json.load(f)
        fr = [it for it in t["items"] if len(it["runs"]) > 1]
        rows.append((t["image"], t["filesystem"] or "-", t["cluster_size"], len(t["items"]),
                     len(fr), sum(len(it["runs"]) for it in t["items"]), len(t["decoys"]),
                     "ok" if not errs else "; ".join(errs[:4])))
        bad += bool(errs)
    print("%-16s %-6s %7s %6s %11s %5s %7s  %s" % ("image", "fs", "cluster", "items",
                                                   "fragmented", "runs", "decoys", "check"))
    for r in rows:
        print("%-16s %-6s %7d %6d %11d %5d %7d  %s" % r)
    return 1 if bad else 0


def write_generated_check(out: str) -> None:
    """--check: the generated archives must be what this script makes."""
    for i, n in enumerate(GEN_NAMES, 1):
        with open(os.path.join(out, "generated", n), "rb") as f:
            assert f.read() == make_gen(i), "generated/%s differs from make_gen" % n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output directory (default testimages/out/fragments)")
    ap.add_argument("--check", metavar="DIR", help="verify DIR/*.truth.json and exit")
    a = ap.parse_args(argv)
    if a.check:
        return check_dir(os.path.abspath(a.check))
    # Absolute: the FAT builders run mtools from the sources folder.
    out = os.path.abspath(a.out or os.path.join(HERE, "out", "fragments"))
    os.makedirs(out, exist_ok=True)
    t0 = time.monotonic()
    write_generated(out)
    build_bifrag(out, "bifrag-512")
    build_bifrag(out, "bifrag-4k")
    build_swapped(out)
    build_three(out)
    build_decoy(out)
    for n in FAT_PLANS:
        build_fat(out, n)
    build_partitioned(out, "mbr-fat-4k", "fat-4k", "mbr")
    build_partitioned(out, "gpt-fat-512", "fat-512", "gpt")
    rc = check_dir(out)
    print("built and checked in %.1f s" % (time.monotonic() - t0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
