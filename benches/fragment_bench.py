#!/usr/bin/env python3
"""Fragmented archives: how many each carver brings back byte-identical, and what reassembly costs.

    python3 benches/fragment_bench.py [--salvor target/release/salvor] [--work bench-cache/frag]

1. On every image of testimages/fragments.py, run salvor carve, PhotoRec, foremost and scalpel
   (the same invocations as benches/carve_bench.sh) and count the truth's fragmented archives
   that some output file of the tool equals byte for byte (SHA-256).
2. On a 2 GiB image (the carve benchmark's random image with the bifragment, swapped,
   three-fragment and decoy images appended at 64 KiB-aligned offsets), time `salvor carve
   --report-only` with reassembly (default budget) and without (`--reassembly-budget 0`); the
   difference is the time reassembly adds to the plain scan.
"""

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sha_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def outputs(d):
    for base, _, files in os.walk(d):
        for f in files:
            yield os.path.join(base, f)


def run_tool(tool, img, out, salvor):
    os.makedirs(out, exist_ok=True)
    if tool == "salvor":
        cmd = [salvor, "carve", img, "--out", os.path.join(out, "o"), "-q"]
    elif tool == "photorec":
        cmd = ["photorec", "/log", "/d", os.path.join(out, "recup"), "/cmd", img,
               "partition_none,options,paranoid,fileopt,everything,disable,zip,enable,wholespace,search"]
    elif tool == "foremost":
        cmd = ["foremost", "-t", "zip", "-i", img, "-o", os.path.join(out, "o")]
    else:
        conf = os.path.join(out, "scalpel.conf")
        text = open("/etc/scalpel/scalpel.conf").read().splitlines()
        text = [l[1:] if l.lstrip("#").split()[:2] == ["zip", "y"] and l.startswith("#") else l for l in text]
        open(conf, "w").write("\n".join(text) + "\n")
        cmd = ["scalpel", "-c", conf, "-o", os.path.join(out, "o"), img]
    env = dict(os.environ, TERM=os.environ.get("TERM", "xterm"))
    subprocess.run(cmd, cwd=out, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--salvor", default=os.path.join(ROOT, "target/release/salvor"))
    ap.add_argument("--work", default=os.path.join(ROOT, "bench-cache/frag"))
    args = ap.parse_args()
    if not os.path.exists(args.salvor):
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    imgs = os.path.join(args.work, "images")
    if not os.path.exists(os.path.join(imgs, "three-4k.truth.json")):
        subprocess.run([sys.executable, os.path.join(ROOT, "testimages/fragments.py"), "--out", imgs], check=True)
    tools = ["salvor", "photorec", "foremost", "scalpel"]
    rows = []
    totals = {t: 0 for t in tools}
    total = 0
    for tp in sorted(glob.glob(os.path.join(imgs, "*.truth.json"))):
        truth = json.load(open(tp))
        img = os.path.join(imgs, truth["image"])
        frag = {i["sha256"] for i in truth["items"] if i["status"] == "reassembled"}
        total += len(frag)
        row = {"image": truth["image"], "fragmented": len(frag)}
        for t in tools:
            out = os.path.join(args.work, "runs", truth["image"], t)
            shutil.rmtree(out, ignore_errors=True)
            run_tool(t, img, out, args.salvor)
            got = {sha_file(p) for p in outputs(out)}
            row[t] = len(frag & got)
            totals[t] += row[t]
        rows.append(row)

    lines = ["| image | fragmented | " + " | ".join(tools) + " |", "|---|---|" + "---|" * len(tools)]
    for r in rows:
        lines.append(f"| {r['image']} | {r['fragmented']} | " + " | ".join(str(r[t]) for t in tools) + " |")
    lines.append(f"| all | {total} | " + " | ".join(str(totals[t]) for t in tools) + " |")

    # Reassembly cost on a 2 GiB image.
    base = os.path.join(ROOT, "bench-cache/bench-2048.img")
    if not os.path.exists(base):
        subprocess.run([sys.executable, os.path.join(ROOT, "testimages/generate.py"), "--bench", "2048", "--out", base], check=True)
    big = os.path.join(args.work, "frag-2048.img")
    if not os.path.exists(big):
        parts = [os.path.join(imgs, n) for n in ("bifrag-4k.img", "swapped-4k.img", "three-4k.img", "decoy-4k.img")]
        extra = sum(((os.path.getsize(p) + 65535) // 65536) * 65536 for p in parts)
        with open(big, "wb") as w, open(base, "rb") as r:
            left = (2048 << 20) - extra
            while left > 0:
                b = r.read(min(left, 1 << 24))
                w.write(b)
                left -= len(b)
            for p in parts:
                data = open(p, "rb").read()
                w.write(data + bytes((-len(data)) % 65536))
    subprocess.run(["cat", big], stdout=subprocess.DEVNULL)
    times = {}
    for label, extra_args in (("with reassembly", []), ("without (budget 0)", ["--reassembly-budget", "0"])):
        best = None
        for _ in range(3):
            out = os.path.join(args.work, "runs", "timing")
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.monotonic()
            p = subprocess.run([args.salvor, "carve", big, "--out", out, "--report-only", "-q", "--json"] + extra_args,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            dt = time.monotonic() - t0
            best = dt if best is None else min(best, dt)
            rep = json.loads(p.stdout)
        times[label] = (best, rep["summary"])
    w, wo = times["with reassembly"][0], times["without (budget 0)"][0]
    lines += ["", f"2 GiB image (random fill, 400 intact archives, the bifragment, swapped, three-fragment and decoy images appended), page cache warm, best of 3:",
              f"- salvor carve --report-only with reassembly: {w:.2f} s, summary {times['with reassembly'][1]}",
              f"- without reassembly (--reassembly-budget 0): {wo:.2f} s",
              f"- reassembly adds {w - wo:.2f} s against a plain scan of {wo:.2f} s (target: less than the scan itself)"]
    text = "\n".join(lines)
    print(text)
    open(os.path.join(args.work, "fragment-bench.md"), "w").write(text + "\n")


if __name__ == "__main__":
    main()
