#!/usr/bin/env python3
"""Check repaired archives against the damage corpus truth (testimages/damage.py).

    check_repair.py TRUTH_JSON DAMAGED_DIR REPAIRED_DIR SOURCES_DIR

For each damaged file F, REPAIRED_DIR holds F.rep.zip and F.rep.zip.repair.json. Prints one line
per problem and exits 1 when there is any; prints counts at the end.
"""

import hashlib
import io
import json
import os
import sys
import zipfile


def sha(b):
    return hashlib.sha256(b).hexdigest()


def main():
    truth_path, damaged_dir, repaired_dir, sources_dir = sys.argv[1:5]
    truth = json.load(open(truth_path))
    problems = []
    counts = {"files": 0, "whole": 0, "prefix": 0, "partial-unproven": 0, "encrypted": 0, "lost": 0}
    for f in truth["files"]:
        name = f["file"]
        out = os.path.join(repaired_dir, name + ".rep.zip")
        rep = json.load(open(out + ".repair.json"))
        counts["files"] += 1
        by_name = {m["name"]: m for m in rep["members"]}
        try:
            z = zipfile.ZipFile(out)
            if f.get("password"):
                z.setpassword(f["password"].encode())
            bad = z.testzip()
            if bad is not None:
                problems.append(f"{name}: zipfile.testzip fails on {bad}")
        except Exception as e:  # noqa: BLE001 - any failure to open is a problem to report
            problems.append(f"{name}: zipfile cannot open the repaired archive: {e}")
            continue
        names = z.namelist()
        original = None
        if f["source"].startswith("sources/"):
            original = zipfile.ZipFile(os.path.join(sources_dir, os.path.basename(f["source"])))
        for m in f["members"]:
            n, expect = m["name"], m["expect"]
            r = by_name.get(n)
            if r is None and expect != "gone":
                problems.append(f"{name}: {n} missing from the report")
                continue
            status = r["status"] if r else None
            if n in names:
                content = z.read(n)
                if sha(content) != m["sha256"]:
                    problems.append(f"{name}: {n} written under its own name with wrong content")
            if expect in ("whole", "encrypted", "whole-or-unproven") and n in names:
                ok_status = {"whole": ("intact", "corrected", "recovered-from-directory"),
                             "encrypted": ("encrypted",),
                             "whole-or-unproven": ("intact", "corrected", "recovered-from-directory")}[expect]
                if status not in ok_status:
                    problems.append(f"{name}: {n} status {status}, expected one of {ok_status}")
                counts["encrypted" if expect == "encrypted" else "whole"] += 1
                continue
            if expect == "whole":
                problems.append(f"{name}: {n} not recovered whole (status {status}: {r and r['action']})")
            elif expect == "encrypted":
                problems.append(f"{name}: encrypted {n} not kept")
            elif expect == "whole-or-unproven":
                if status != "partial" or not any(w in r["action"] for w in ("may be wrong", "unproven")):
                    problems.append(f"{name}: {n} neither whole nor an unproven partial ({status})")
                else:
                    counts["partial-unproven"] += 1
            elif expect == "prefix":
                if status == "lost":
                    counts["lost"] += 1
                    continue
                pn = n + ".partial"
                if status != "partial" or pn not in names:
                    problems.append(f"{name}: {n} expected a .partial prefix, status {status}")
                    continue
                part = z.read(pn)
                full = original.read(n) if original else None
                if full is not None and not full.startswith(part):
                    problems.append(f"{name}: {pn} ({len(part)} bytes) is not a prefix of the original")
                if r["salvaged_size"] != len(part):
                    problems.append(f"{name}: {pn} salvaged_size {r['salvaged_size']} but {len(part)} bytes written")
                counts["prefix"] += 1
            elif expect == "gone":
                if status not in (None, "lost"):
                    problems.append(f"{name}: {n} should be gone, status {status}")
                else:
                    counts["lost"] += 1
    for p in problems:
        print(p)
    print("checked:", json.dumps(counts))
    sys.exit(1 if problems else 0)


main()
