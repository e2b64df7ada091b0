#!/usr/bin/env python3
"""Compare `zip -FF` and `salvor repair` on the generated damage corpus (testimages/damage.py).

    python3 benches/repair_compare.py [--salvor target/release/salvor] [--work bench-cache/repair]

For each tool it prints: members recovered whole (content identical to the original under the
original name), partial members (a `.partial` member whose content is a prefix of the original),
bytes salvaged (whole + proven-prefix bytes), and the share of outputs that pass `unzip -t`,
`7zz t` and Python's zipfile.testzip(). An output that a tool did not produce counts as failing.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, **kw)


def passes(path, password):
    if not os.path.exists(path):
        return False, False, False
    pw = password or "none"
    u = run(["unzip", "-tqq", "-P", pw, path]).returncode == 0
    s = run(["7zz", "t", "-p" + pw, path]).returncode == 0
    try:
        z = zipfile.ZipFile(path)
        if password:
            z.setpassword(password.encode())
        p = z.testzip() is None
    except Exception:  # noqa: BLE001 - any failure counts as not passing
        p = False
    return u, s, p


def score(path, truth_file, originals):
    """Whole members, partial prefixes and salvaged bytes found in an output archive."""
    whole = partial = nbytes = 0
    if not os.path.exists(path):
        return whole, partial, nbytes
    try:
        z = zipfile.ZipFile(path)
        if truth_file.get("password"):
            z.setpassword(truth_file["password"].encode())
        names = set(z.namelist())
    except Exception:  # noqa: BLE001
        return whole, partial, nbytes
    for m in truth_file["members"]:
        n = m["name"]
        full = originals.get(n)
        if n in names:
            try:
                data = z.read(n)
            except Exception:  # noqa: BLE001
                data = None
            if data is not None and sha(data) == m["sha256"]:
                whole += 1
                nbytes += len(data)
                continue
        if n + ".partial" in names and full is not None:
            try:
                data = z.read(n + ".partial")
            except Exception:  # noqa: BLE001
                continue
            if full.startswith(data):
                partial += 1
                nbytes += len(data)
    return whole, partial, nbytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--salvor", default=os.path.join(ROOT, "target/release/salvor"))
    ap.add_argument("--work", default=os.path.join(ROOT, "bench-cache/repair"))
    args = ap.parse_args()
    if not os.path.exists(args.salvor):
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    shutil.rmtree(args.work, ignore_errors=True)
    corpus = os.path.join(args.work, "damaged")
    subprocess.run([sys.executable, os.path.join(ROOT, "testimages/damage.py"), "--out", corpus], check=True)
    truth = json.load(open(os.path.join(corpus, "truth.json")))
    tools = {"zip -FF": os.path.join(args.work, "zipff"), "salvor": os.path.join(args.work, "salvor")}
    for d in tools.values():
        os.makedirs(d)
    totals = {t: {"files": 0, "whole": 0, "partial": 0, "bytes": 0, "unzip": 0, "7zz": 0, "zipfile": 0, "all3": 0} for t in tools}
    members_total = sum(len(f["members"]) for f in truth["files"])
    bytes_total = sum(m["size"] for f in truth["files"] for m in f["members"])
    per_file = []
    for f in truth["files"]:
        src = os.path.join(corpus, f["file"])
        originals = {}
        if f["source"].startswith("sources/"):
            oz = zipfile.ZipFile(os.path.join(ROOT, "testimages", f["source"]))
            originals = {n: oz.read(n) for n in oz.namelist()}
        outs = {
            "zip -FF": os.path.join(tools["zip -FF"], f["file"] + ".zip"),
            "salvor": os.path.join(tools["salvor"], f["file"] + ".zip"),
        }
        # zip -FF may ask questions on odd input; answer yes.
        subprocess.run(["zip", "-FF", src, "--out", outs["zip -FF"]], input=b"y\n" * 20,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        run([args.salvor, "repair", src, "--out", outs["salvor"], "-q"])
        row = {"file": f["file"]}
        for t, out in outs.items():
            u, s, p = passes(out, f.get("password"))
            w, pa, nb = score(out, f, originals)
            tt = totals[t]
            tt["files"] += 1
            tt["whole"] += w
            tt["partial"] += pa
            tt["bytes"] += nb
            tt["unzip"] += u
            tt["7zz"] += s
            tt["zipfile"] += p
            tt["all3"] += u and s and p
            row[t] = {"whole": w, "partial": pa, "bytes": nb, "unzip": u, "7zz": s, "zipfile": p}
        per_file.append(row)

    n = len(truth["files"])
    lines = [
        f"Damage corpus: {n} damaged files, {members_total} original members, {bytes_total} original content bytes",
        "",
        "| tool | members whole | partial (prefix) | bytes salvaged | unzip -t | 7zz t | zipfile | all three |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t, tt in totals.items():
        pct = lambda k: f"{tt[k]}/{n} ({100 * tt[k] / n:.0f} %)"  # noqa: E731
        lines.append(f"| {t} | {tt['whole']}/{members_total} | {tt['partial']} | {tt['bytes']} ({100 * tt['bytes'] / bytes_total:.1f} %) | {pct('unzip')} | {pct('7zz')} | {pct('zipfile')} | {pct('all3')} |")
    worse = [r["file"] for r in per_file if r["salvor"]["whole"] < r["zip -FF"]["whole"]]
    lines.append("")
    lines.append(f"Files where zip -FF recovered more whole members than salvor: {len(worse)} {worse[:10]}")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(args.work, "repair-compare.md"), "w") as fh:
        fh.write(text + "\n")
    with open(os.path.join(args.work, "repair-compare.json"), "w") as fh:
        json.dump(per_file, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
