#!/usr/bin/env python3
"""Deterministic damage corpus for `salvor repair`, with truth.

Every source archive in testimages/sources/ is damaged in each of the ways real packages break;
each damaged file comes with what a repair must give back, member by member.

    python3 testimages/damage.py --out DIR     # DIR/<source>--<case>.<ext> and DIR/truth.json

Truth per file: the case, the source, and per original member its name, size, CRC-32, the SHA-256
of its content and what repair must achieve: "whole" (exact content under its own name),
"prefix" (a `.partial` member whose content is a prefix of the original), "whole-or-unproven"
(exact content, or a `.partial` member that the report calls unproven), "encrypted" (kept byte
for byte), or "gone" (nothing of it is left in the damaged file).
"""

import argparse
import hashlib
import io
import json
import os
import random
import struct
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate  # noqa: E402  (the shared Source parser)

SOURCES = ["infozip.zip", "infozip-stored.zip", "pyzip.zip", "pyzip-dd.zip", "pyzip64.zip",
           "7z.zip", "writer.docx", "writer.odt", "calc.xlsx", "calc.ods", "book.epub",
           "hello.jar", "nested.zip"]


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def member_truth(src, expect: dict, default: str) -> list:
    zf = zipfile.ZipFile(io.BytesIO(src.data))
    out = []
    for m in src.members:
        content = zf.read(m["name"])
        out.append({"name": m["name"], "size": m["size"], "crc32": m["crc32"],
                    "sha256": sha256(content), "method": m["method"],
                    "expect": expect.get(m["name"], default)})
    return out


def data_range(m):
    return m["_data_offset"], m["_data_offset"] + m["compressed_size"]


def cases_for(src, rng: random.Random):
    d = bytes(src.data)
    members = src.members
    out = []

    out.append(("cd-overwritten", d[:src.cd_off] + rng.randbytes(src.cd_size) + d[src.cd_off + src.cd_size:], {}))
    out.append(("eocd-missing", d[:src.eocd_off], {}))
    out.append(("cd-and-eocd-gone", d[:src.cd_off], {}))
    if len(members) > 1:
        m = members[1]
        ho = m["header_offset"]
        out.append(("lfh-overwritten", d[:ho] + rng.randbytes(30) + d[ho + 30:], {}))
    out.append(("prefix-junk", rng.randbytes(1024) + d, {}))
    out.append(("junk-before-cd", d[:src.cd_off] + rng.randbytes(333) + d[src.cd_off:], {}))
    if src.zip64_end is None:
        # Every recorded offset off by the same constant, as when a stub was removed afterwards.
        b = bytearray(d)
        k = 4096
        struct.pack_into("<I", b, src.eocd_off + 16, src.cd_off + k)
        pos = src.cd_off
        while b[pos:pos + 4] == b"PK\x01\x02":
            n, e, c = struct.unpack_from("<HHH", b, pos + 28)
            (off,) = struct.unpack_from("<I", b, pos + 42)
            struct.pack_into("<I", b, pos + 42, off + k)
            pos += 46 + n + e + c
        out.append(("offsets-shifted", bytes(b), {}))
    for pct in (50, 90):
        cut = len(d) * pct // 100
        expect = {}
        for m in members:
            a, z = data_range(m)
            if z + (16 if m["data_descriptor"] else 0) <= cut:
                continue
            expect[m["name"]] = "prefix" if a < cut else "gone"
        out.append((f"truncated-{pct}", d[:cut], expect))
    big = src.largest_deflated()
    if big and big["compressed_size"] > 8192:
        a, z = data_range(big)
        mid = (a + z) // 2 - 2048
        out.append(("zeroed-4k", d[:mid] + bytes(4096) + d[mid + 4096:], {big["name"]: "prefix"}))
    if big and big["compressed_size"] >= 256:
        a, z = data_range(big)
        b = bytearray(d)
        b[(a + z) // 2] ^= 0x10
        out.append(("bitflip-deflate", bytes(b), {big["name"]: "whole-or-unproven"}))
    stored = [m for m in members if m["method"] == 0 and m["compressed_size"] >= 64]
    if stored:
        m = max(stored, key=lambda m: m["compressed_size"])
        a, z = data_range(m)
        b = bytearray(d)
        b[a + (z - a) // 3] ^= 0x04
        out.append(("bitflip-stored", bytes(b), {}))
    return out


def encrypted_case(out_dir: str, rng: random.Random) -> dict:
    """Info-ZIP traditional encryption, made here (zip -P), then its directory overwritten."""
    work = os.path.join(out_dir, "_enc")
    os.makedirs(work, exist_ok=True)
    text = os.path.join(work, "secret.txt")
    with open(text, "wb") as f:
        f.write(("confidential line %d\n" % 7 * 200).encode())
    plain = os.path.join(work, "plain.txt")
    with open(plain, "wb") as f:
        f.write(b"not secret\n" * 50)
    arc = os.path.join(work, "enc.zip")
    if os.path.exists(arc):
        os.remove(arc)
    subprocess.run(["zip", "-q", "-X", "-j", arc, plain], check=True)
    subprocess.run(["zip", "-q", "-X", "-j", "-P", "secret", arc, text], check=True)
    return arc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(0x5A1E_D00D)
    truth = {"files": []}
    for name in SOURCES:
        src = generate.source(name)
        stem, ext = os.path.splitext(name)
        for case, data, expect in cases_for(src, rng):
            fname = f"{stem}--{case}{ext}"
            with open(os.path.join(args.out, fname), "wb") as f:
                f.write(data)
            truth["files"].append({"file": fname, "source": "sources/" + name, "case": case,
                                   "type": src.type, "sha256": sha256(data),
                                   "members": member_truth(src, expect, "whole")})
    # Encrypted members: kept byte for byte, reported as encrypted.
    try:
        arc = encrypted_case(args.out, rng)
        with open(arc, "rb") as f:
            d = f.read()
        pos = d.rfind(b"PK\x05\x06")
        (cd_size, cd_off) = struct.unpack_from("<II", d, pos + 12)
        damaged = d[:cd_off] + rng.randbytes(cd_size) + d[cd_off + cd_size:]
        fname = "encrypted--cd-overwritten.zip"
        with open(os.path.join(args.out, fname), "wb") as f:
            f.write(damaged)
        zf = zipfile.ZipFile(io.BytesIO(d))
        zf.setpassword(b"secret")
        members = []
        for zi in zf.infolist():
            content = zf.read(zi.filename)
            members.append({"name": zi.filename, "size": zi.file_size, "crc32": "%08x" % zi.CRC,
                            "sha256": sha256(content), "method": zi.compress_type,
                            "expect": "encrypted" if zi.flag_bits & 1 else "whole"})
        truth["files"].append({"file": fname, "source": "made here with zip -P secret",
                               "case": "encrypted", "type": "zip", "sha256": sha256(damaged),
                               "password": "secret", "members": members})
    except (OSError, subprocess.CalledProcessError) as e:
        print("damage.py: encrypted case skipped: %s" % e, file=sys.stderr)
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    print("%d damaged files in %s" % (len(truth["files"]), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
