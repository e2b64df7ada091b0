#!/usr/bin/env python3
"""Helpers for benches/carve_bench.sh (Python 3.11 standard library only).

    bench_util.py run DIR STDOUT -- CMD...    run CMD, wall time + RssAnon/RssFile peaks
    bench_util.py score TRUTH TOOL KIND DIR    recall of one tool -> JSON on stdout
    bench_util.py row RESULTS TOOL KIND TRUTH CMD RESIDENCY NOTE TIMEOUT -- DIR...
                                              one table row from a tool's run dirs
    bench_util.py table RESULTS.jsonl META.json OUT.md   print + write the table

`run` starts CMD (the script passes `timeout N /usr/bin/time -v -o F TOOL ...`),
sums RssAnon (and RssFile) over every descendant except `timeout` and `time`
themselves every 50 ms from the moment it is started, and writes the peaks to
DIR/rss.json and the monotonic wall time to DIR/wall.txt. `score` KIND is `files` (hash every file under DIR) or `report`
(salvor report.json findings: digests.sha256 and offset).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time

SECTOR = 512
MIB = 1 << 20
WRAPPERS = {"timeout", "time"}


# --------------------------------------------------------------------------
# RssAnon sampler
# --------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def _status(pid: int) -> dict:
    d = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                d[k] = v.strip()
    except OSError:
        pass
    return d


def _kib(v: str | None) -> int:
    if not v:
        return 0
    return int(v.split()[0])


class Sampler:
    """Peak RssAnon / RssFile summed over the descendants of one pid."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_anon = self.peak_file = self.peak_hwm = self.samples = 0
        self.names: set[str] = set()
        self.me = _status(os.getpid()).get("Name", "")

    def tick(self) -> None:
        todo, anon, filer = [self.pid], 0, 0
        seen = set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            todo.extend(_children(p))
            s = _status(p)
            name = s.get("Name", "")
            # skip the wrappers, and a child that has forked but not yet exec'd
            if not name or name in WRAPPERS or name == self.me:
                continue
            self.names.add(name)
            anon += _kib(s.get("RssAnon"))
            filer += _kib(s.get("RssFile"))
            self.peak_hwm = max(self.peak_hwm, _kib(s.get("VmHWM")))
        if anon or filer:
            self.samples += 1
        self.peak_anon = max(self.peak_anon, anon)
        self.peak_file = max(self.peak_file, filer)

    def dump(self, out: str, interval: float) -> None:
        with open(out, "w") as f:
            json.dump({"peak_rss_anon_kib": self.peak_anon, "peak_rss_file_kib": self.peak_file,
                       "peak_vmhwm_kib": self.peak_hwm, "samples": self.samples,
                       "interval_ms": int(interval * 1000), "processes": sorted(self.names)}, f)


def run(argv, interval: float = 0.05) -> int:
    """run DIR STDOUT -- CMD...: start CMD, sample it every 50 ms, write
    DIR/rss.json and DIR/wall.txt (seconds, monotonic clock), return its status."""
    import subprocess
    d, stdout = argv[0], argv[1]
    assert argv[2] == "--", argv
    cmd = argv[3:]
    with open(stdout, "wb") as so, open(os.path.join(d, "tool.log"), "wb") as se:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=so, stderr=se)
        s = Sampler(p.pid)
        while p.poll() is None:
            s.tick()
            time.sleep(interval)
        t1 = time.monotonic()
    s.dump(os.path.join(d, "rss.json"), interval)
    with open(os.path.join(d, "wall.txt"), "w") as f:
        f.write("%.4f\n" % (t1 - t0))
    return p.returncode if p.returncode >= 0 else 128 - p.returncode


# --------------------------------------------------------------------------
# Recall
# --------------------------------------------------------------------------

def _walk(d: str):
    for root, _dirs, files in os.walk(d):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            if os.path.isfile(p) and not os.path.islink(p):
                yield p


def _offsets(tool: str, d: str) -> dict[str, int]:
    """Map output file (absolute path or basename) -> image offset where the
    tool says it starts, from the tool's own log: salvor report.json,
    PhotoRec report.xml (DFXML byte_run img_offset of file offset 0),
    foremost / scalpel audit.txt. Missing or unparsable logs give {}."""
    out: dict[str, int] = {}
    try:
        if tool.startswith("salvor"):
            with open(os.path.join(d, "report.json")) as f:
                rep = json.load(f)
            for fd in rep.get("findings", []):
                if fd.get("file"):
                    out[os.path.join(d, fd["file"])] = fd["offset"]
        elif tool == "photorec":
            import xml.etree.ElementTree as ET
            for p in _walk(d):
                if os.path.basename(p) != "report.xml":
                    continue
                for fo in ET.parse(p).getroot().iter():
                    if not fo.tag.endswith("fileobject"):
                        continue
                    name = runs = None
                    for ch in fo:
                        if ch.tag.endswith("filename"):
                            name = ch.text
                        elif ch.tag.endswith("byte_runs"):
                            runs = [r for r in ch if r.tag.endswith("byte_run")]
                    if name and runs:
                        first = min(runs, key=lambda r: int(r.get("offset", "0")))
                        if int(first.get("offset", "0")) == 0:
                            out[os.path.join(os.path.dirname(p), os.path.basename(name))] = int(first.get("img_offset"))
        elif tool == "foremost":
            with open(os.path.join(d, "audit.txt"), errors="replace") as f:
                for line in f:
                    parts = line.split()
                    # "12:	00001125.zip 	      26 KB 	     576419 	 [comment]"
                    if len(parts) >= 5 and parts[0].endswith(":") and parts[0][:-1].isdigit() \
                            and parts[4].isdigit():
                        out[parts[1]] = int(parts[4])
        elif tool == "scalpel":
            with open(os.path.join(d, "audit.txt"), errors="replace") as f:
                on = False
                for line in f:
                    if line.startswith("The following files were carved"):
                        on = True
                        continue
                    parts = line.split()
                    if on and len(parts) >= 4 and parts[1].isdigit():
                        out[parts[0]] = int(parts[1])
    except (OSError, ValueError, json.JSONDecodeError) as e:
        print("bench_util: %s: cannot read offsets: %s" % (tool, e), file=sys.stderr)
    return out


def score(truth_path: str, tool: str, kind: str, d: str) -> dict:
    with open(truth_path) as f:
        truth = json.load(f)
    items = [it for it in truth["items"] if it["status"] == "intact"]
    by_off = {it["offset"]: it for it in items}
    # damaged/truncated truth items (none in --bench images): finding them is not a false finding
    other_truth = {it["offset"] for it in truth["items"] if it["status"] != "intact"}
    by_sha: dict[str, list[dict]] = {}
    for it in items:
        by_sha.setdefault(it["sha256"], []).append(it)
    children = [c for it in items for c in it.get("children") or []]
    child_by_off = {c["offset"]: c for c in children}
    child_sha = {c["sha256"] for c in children}
    lengths = sorted({it["length"] for it in items})
    prefix_key = {(it["length"], it["sha256"]) for it in items}

    exact: set[int] = set()      # truth offsets recovered byte-identically
    prefix: set[int] = set()     # ... or as the start of a longer output
    child_hit: set[int] = set()
    outputs = unmatched = 0
    no_offset = 0                # matching outputs whose start offset the tool did not log
    extra: dict = {}

    if kind == "report":
        with open(os.path.join(d, "report.json")) as f:
            report = json.load(f)
        statuses: dict[str, int] = {}
        false_findings = []
        for fd in report.get("findings", []):
            outputs += 1
            sha = (fd.get("digests") or {}).get("sha256")
            off, ln, st = fd.get("offset"), fd.get("length"), fd.get("status", "?")
            statuses[st] = statuses.get(st, 0) + 1
            it, c = by_off.get(off), child_by_off.get(off)
            if it is not None and sha == it["sha256"] and ln == it["length"]:
                exact.add(off)
                prefix.add(off)
            elif c is not None and sha == c["sha256"] and ln == c["length"]:
                child_hit.add(off)
            elif off in other_truth:
                pass
            else:
                unmatched += 1
                false_findings.append({"offset": off, "length": ln, "status": st,
                                       "kind": fd.get("kind"), "defects": fd.get("defects"),
                                       "truth_at_offset": it is not None or c is not None})
        extra = {"statuses": statuses, "false_findings": false_findings[:50],
                 "false_findings_total": len(false_findings),
                 "bytes_scanned": report.get("bytes_scanned"),
                 "signature_hits": report.get("signature_hits"),
                 "salvor_seconds": report.get("seconds"),
                 "summary": report.get("summary")}
    else:
        offmap = _offsets(tool, d)
        maxlen = lengths[-1] if lengths else 0
        pending_exact: list[str] = []    # sha of matching outputs with no logged offset
        pending_prefix: list[str] = []
        # the tools' own logs/reports are not carved files
        skip = {"report.json", "report.dfxml", "audit.log", "audit.txt", "report.xml", "photorec.log"}
        for p in _walk(d):
            if os.path.basename(p) in skip:
                continue
            outputs += 1
            with open(p, "rb") as f:
                head = f.read(maxlen) if maxlen else b""
                h = hashlib.sha256(head)
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
            full = h.hexdigest()
            start = offmap.get(p, offmap.get(os.path.basename(p)))
            pre = [hashlib.sha256(head[:L]).hexdigest() for L in lengths if L <= len(head)]
            pre = [s for L, s in zip(lengths, pre) if (L, s) in prefix_key]
            matched = False
            if full in by_sha:
                matched = True
                it = by_off.get(start) if start is not None else None
                if it is not None and it["sha256"] == full:
                    exact.add(start)
                elif start is None:
                    pending_exact.append(full)
                # else: right bytes, but the tool logged another start: not credited
            for s in pre:
                matched = True
                it = by_off.get(start) if start is not None else None
                if it is not None and it["sha256"] == s:
                    prefix.add(start)
                elif start is None:
                    pending_prefix.append(s)
            if full in child_sha:
                matched = True
                c = child_by_off.get(start) if start is not None else None
                if c is not None and c["sha256"] == full:
                    child_hit.add(start)
            if not matched and start not in other_truth:
                unmatched += 1
        # Outputs whose start the tool did not log: credit one plant of that
        # source per output, aligned plants first (so the unaligned column is
        # a lower bound, never an overcount).
        no_offset = len(pending_exact)
        for pend, dest in ((pending_exact, exact), (pending_prefix, prefix)):
            for s in pend:
                for it in sorted(by_sha[s], key=lambda it: (it["offset"] % SECTOR != 0, it["offset"])):
                    if it["offset"] not in dest:
                        dest.add(it["offset"])
                        break
        extra = {"offsets_logged": len(offmap), "matching_outputs_without_offset": no_offset}

    unaligned = [it for it in items if it["offset"] % SECTOR]
    res = {
        "tool": tool,
        "kind": kind,
        "total": len(items),
        "recovered": len(exact),
        "total_unaligned": len(unaligned),
        "recovered_unaligned": sum(1 for it in unaligned if it["offset"] in exact),
        "prefix": len(prefix | exact),
        "children_total": len(children),
        "children_hit": len(child_hit),
        "outputs": outputs,
        "unmatched": unmatched,
        "missed_offsets": sorted(it["offset"] for it in items if it["offset"] not in exact)[:40],
    }
    missed: dict[str, int] = {}
    for it in items:
        if it["offset"] not in exact:
            k = "%s (%s)" % (os.path.basename(it["source"]), "unaligned" if it["offset"] % SECTOR else "aligned")
            missed[k] = missed.get(k, 0) + 1
    res["missed_by_source"] = missed
    got: dict[str, int] = {}
    for it in items:
        if it["offset"] in exact:
            k = "%s (%s)" % (os.path.basename(it["source"]), "unaligned" if it["offset"] % SECTOR else "aligned")
            got[k] = got.get(k, 0) + 1
    res["recovered_by_source"] = got
    miss = sorted(it["offset"] for it in items if it["offset"] not in exact and it["offset"] % SECTOR == 0)
    if miss:
        fm = by_off[miss[0]]
        res["first_missed_aligned"] = {"offset": fm["offset"], "source": os.path.basename(fm["source"]),
                                       "recovered_after": sum(1 for o in exact if o > fm["offset"])}
    res.update(extra)
    return res


# --------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------

def _fmt_mib(kib):
    return "-" if kib is None else "%.1f" % (kib / 1024)


def table(results_path: str, meta_path: str, out_md: str) -> None:
    rows = [json.loads(l) for l in open(results_path) if l.strip()]
    meta = json.load(open(meta_path))
    size = meta["image_size"]
    cat = next((r for r in rows if r["tool"] == "cat" and r.get("seconds")), None)
    cat_mbs = size / 1e6 / cat["seconds"] if cat else None

    hdr = ["tool", "seconds", "MB/s", "x cat", "peak RSS MiB", "RssAnon MiB",
           "recovered", "unaligned", "prefix", "outputs", "unmatched", "written MiB", "exit"]
    lines = []
    for r in rows:
        secs = r.get("seconds")
        mbs = size / 1e6 / secs if secs else None
        sc = r.get("score") or {}
        rec = "%d/%d" % (sc["recovered"], sc["total"]) if sc else "-"
        una = "%d/%d" % (sc["recovered_unaligned"], sc["total_unaligned"]) if sc else "-"
        pre = "%d/%d" % (sc["prefix"], sc["total"]) if sc else "-"
        exitv = str(r.get("exit"))
        if r.get("timed_out"):
            exitv += " TIMEOUT"
        lines.append([
            r["tool"],
            "%.2f" % secs if secs else "-",
            "%.0f" % mbs if mbs else "-",
            "%.2f" % (mbs / cat_mbs) if (mbs and cat_mbs) else "-",
            _fmt_mib(r.get("max_rss_kib")),
            _fmt_mib(r.get("peak_rss_anon_kib")),
            rec, una, pre,
            str(sc.get("outputs", "-")) if sc else "-",
            str(sc.get("unmatched", "-")) if sc else "-",
            "%.1f" % (r["written_bytes"] / MIB) if r.get("written_bytes") is not None and sc else "-",
            exitv,
        ])

    def md_table(hdr, lines):
        out = ["| " + " | ".join(hdr) + " |", "|" + "|".join("---" for _ in hdr) + "|"]
        out += ["| " + " | ".join(l) + " |" for l in lines]
        return "\n".join(out)

    def txt_table(hdr, lines):
        w = [max(len(hdr[i]), *(len(l[i]) for l in lines)) for i in range(len(hdr))]
        fmt = lambda l: "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(l))
        return "\n".join([fmt(hdr), "  ".join("-" * x for x in w)] + [fmt(l) for l in lines])

    # targets for salvor
    tgt = []
    for r in rows:
        if not r["tool"].startswith("salvor"):
            continue
        sc = r.get("score") or {}
        secs = r.get("seconds")
        ratio = (size / 1e6 / secs) / cat_mbs if (secs and cat_mbs) else None
        anon = r.get("peak_rss_anon_kib")
        ok_t = ratio is not None and ratio >= 0.5
        ok_m = anon is not None and anon < 256 * 1024
        ok_r = bool(sc) and sc["recovered"] == sc["total"] and sc["recovered_unaligned"] == sc["total_unaligned"]
        tgt.append("- `%s`: throughput %s x cat (target >= 0.5x) **%s**; RssAnon peak %s MiB "
                   "(target < 256 MiB) **%s**; recall %s, unaligned %s (target 100%%) **%s**" % (
                       r["tool"], "%.3f" % ratio if ratio is not None else "?",
                       "PASS" if ok_t else "FAIL", _fmt_mib(anon), "PASS" if ok_m else "FAIL",
                       "%d/%d" % (sc.get("recovered", 0), sc.get("total", 0)),
                       "%d/%d" % (sc.get("recovered_unaligned", 0), sc.get("total_unaligned", 0)),
                       "PASS" if ok_r else "FAIL"))

    notes = []
    for r in rows:
        sc = r.get("score") or {}
        if r["tool"].startswith("salvor") and sc.get("statuses") is not None:
            notes.append("- `%s` findings by status: %s; findings matching no truth item or child: %d%s" % (
                r["tool"], json.dumps(sc["statuses"], sort_keys=True), sc.get("false_findings_total", 0),
                "" if not sc.get("false_findings") else " (first: %s)" % json.dumps(sc["false_findings"][:5])))
            notes.append("- `%s` nested children found: %d/%d; salvor's own reported time %s s" % (
                r["tool"], sc.get("children_hit", 0), sc.get("children_total", 0), sc.get("salvor_seconds")))
        if sc.get("missed_by_source"):
            mb = sc["missed_by_source"]
            if sc["recovered"] * 2 >= sc["total"]:
                notes.append("- `%s` missed (by source): %s" % (r["tool"], ", ".join(
                    "%s %d" % (k, v) for k, v in sorted(mb.items()))))
            else:
                notes.append("- `%s` recovered (by source): %s" % (r["tool"], ", ".join(
                    "%s %d" % (k, v) for k, v in sorted(sc.get("recovered_by_source", {}).items())) or "none"))
            fm = sc.get("first_missed_aligned")
            if fm:
                notes.append("- `%s` first missed sector-aligned plant: offset %d (sector %d), %s; "
                             "plants recovered after it: %d" % (
                                 r["tool"], fm["offset"], fm["offset"] // SECTOR, fm["source"], fm["recovered_after"]))
        if r.get("note"):
            notes.append("- `%s`: %s" % (r["tool"], r["note"]))
        res = r.get("cache_resident_before") or ""
        if res and "(100.0%)" not in res:
            notes.append("- `%s`: image not fully in page cache before the run: %s" % (r["tool"], res))
    for n in meta.get("notes", []):
        notes.append("- " + n)

    head = [
        "# Salvor carving benchmark",
        "",
        "- command: `%s`" % meta["command"],
        "- image: `%s`, %d bytes (%d MiB), truth `%s`: %d intact archives, %d at unaligned offsets (not a multiple of 512)" % (
            meta["image"], size, size >> 20, meta["truth"], meta["total"], meta["total_unaligned"]),
        "- page cache: %s" % meta["cache"],
        "- machine: %s" % meta["machine"],
        "- salvor: `%s` (%s)" % (meta["salvor_bin"], meta["salvor_version"]),
        "- tools: %s" % meta["tool_versions"],
        "- run dir: `%s`; started %s" % (meta["run_dir"], meta["started"]),
        "",
        "Columns: seconds = wall time (monotonic clock around `timeout %s /usr/bin/time -v CMD`; "
        "median of the runs for cat and salvor); "
        "MB/s = 10^6 bytes of image per second; x cat = throughput / `cat IMAGE >/dev/null` throughput; "
        "peak RSS = /usr/bin/time -v Maximum resident set size (includes mmap'd file pages); "
        "RssAnon = peak of /proc/PID/status RssAnon (heap, not file pages) sampled every 50 ms; "
        "recovered = intact truth archives with a byte-identical output (same SHA-256; report-only: "
        "a finding with the truth's offset, length and digests.sha256); unaligned = the same for "
        "truth offsets not a multiple of 512; prefix = outputs that start with the whole archive "
        "(exact or over-carved); outputs = files written (report-only: findings); "
        "unmatched = outputs/findings that are none of the truth archives or their nested children; "
        "written = bytes of files in the output dir." % meta["timeout"],
        "",
        "",
    ]
    md = "\n".join(head) + md_table(hdr, lines) + "\n\nTargets (salvor):\n\n" + "\n".join(tgt) + \
        "\n\nNotes:\n\n" + "\n".join(notes) + "\n"
    with open(out_md, "w") as f:
        f.write(md)
    print()
    print(txt_table(hdr, lines))
    print()
    print("Targets (salvor):")
    print("\n".join(tgt))
    print()
    print("Notes:")
    print("\n".join(notes))
    print()
    print("written: %s" % out_md)


def _time_v(path: str) -> dict:
    """Parse GNU time -v output."""
    d = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                k, _, v = line.strip().rpartition(": ")
                d[k.strip()] = v.strip()
    except OSError:
        pass
    return d


def _elapsed(s: str | None) -> float | None:
    if not s:
        return None
    sec = 0.0
    for part in s.split(":"):
        sec = sec * 60 + float(part)
    return sec


def _du(d: str) -> int:
    return sum(os.path.getsize(p) for p in _walk(d)) if os.path.isdir(d) else 0


def _one(d: str) -> dict:
    tv = _time_v(os.path.join(d, "time.txt"))
    r = {"dir": d}
    with open(os.path.join(d, "wall.txt")) as f:
        r["seconds"] = float(f.read())
    with open(os.path.join(d, "rc.txt")) as f:
        r["exit"] = int(f.read())
    k = "Maximum resident set size (kbytes)"
    r["max_rss_kib"] = int(tv[k]) if k in tv else None
    r["time_v_elapsed"] = _elapsed(tv.get("Elapsed (wall clock) time (h:mm:ss or m:ss)"))
    for key, name in (("User time (seconds)", "user_s"), ("System time (seconds)", "sys_s")):
        r[name] = float(tv[key]) if key in tv else None
    r["cpu"] = tv.get("Percent of CPU this job got")
    rp = os.path.join(d, "rss.json")
    if os.path.exists(rp):
        with open(rp) as f:
            s = json.load(f)
        r["peak_rss_anon_kib"] = s["peak_rss_anon_kib"]
        r["peak_rss_file_kib"] = s["peak_rss_file_kib"]
        r["rss_samples"] = s["samples"]
    r["written_bytes"] = _du(os.path.join(d, "out"))
    return r


def row(argv) -> None:
    """row RESULTS TOOL KIND TRUTH CMD RESIDENCY NOTE TIMEOUT -- DIR..."""
    results, tool, kind, truth, cmd, resid, note, timeout = argv[:8]
    assert argv[8] == "--", argv
    runs = [_one(d) for d in argv[9:]]
    secs = sorted(x["seconds"] for x in runs)
    mx = lambda k: max((x[k] for x in runs if x.get(k) is not None), default=None)
    last = runs[-1]
    bad = [x["exit"] for x in runs if x["exit"] not in (0,)]
    r = {"tool": tool, "cmd": cmd, "runs": len(runs),
         "seconds": secs[len(secs) // 2],          # median (upper median for even counts)
         "seconds_all": [x["seconds"] for x in runs],
         "exit": last["exit"] if not bad else bad[0],
         "timed_out": any(x["exit"] == 124 for x in runs),
         "max_rss_kib": mx("max_rss_kib"), "peak_rss_anon_kib": mx("peak_rss_anon_kib"),
         "peak_rss_file_kib": mx("peak_rss_file_kib"),
         "user_s": last["user_s"], "sys_s": last["sys_s"], "cpu": last["cpu"],
         "written_bytes": last["written_bytes"],
         "cache_resident_before": resid, "note": note or None, "per_run": runs}
    if r["timed_out"]:
        r["note"] = ((r["note"] or "") + "; killed by timeout after %s s" % timeout).lstrip("; ")
    if kind in ("files", "report"):
        scores = []
        for x in runs:
            try:
                scores.append(score(truth, tool, kind, os.path.join(x["dir"], "out")))
            except (OSError, ValueError, KeyError) as e:
                r["note"] = ((r["note"] or "") + "; scoring %s failed: %s" % (x["dir"], e)).lstrip("; ")
        if scores:
            r["score"] = scores[-1]
            keyf = lambda s: (s["recovered"], s["recovered_unaligned"], s["outputs"], s["unmatched"])
            if len({keyf(s) for s in scores}) > 1:
                r["note"] = ((r["note"] or "") + "; runs differ: " + ", ".join(
                    "recovered %d outputs %d unmatched %d" % (s["recovered"], s["outputs"], s["unmatched"])
                    for s in scores)).lstrip("; ")
    with open(os.path.join(os.path.dirname(runs[0]["dir"]), "row.json"), "w") as f:
        json.dump(r, f, indent=1)
    with open(results, "a") as f:
        f.write(json.dumps(r) + "\n")
    sc = r.get("score") or {}
    print("  %-16s %8s s%s  exit %s  maxrss %s MiB  RssAnon %s MiB%s" % (
        tool, "%.3f" % r["seconds"],
        " (median of %s)" % ", ".join("%.3f" % s for s in r["seconds_all"]) if len(runs) > 1 else "",
        r["exit"], _fmt_mib(r["max_rss_kib"]), _fmt_mib(r.get("peak_rss_anon_kib")),
        "  recovered %d/%d (unaligned %d/%d)" % (sc["recovered"], sc["total"], sc["recovered_unaligned"],
                                                 sc["total_unaligned"]) if sc else ""), flush=True)


def main(argv):
    if len(argv) >= 2 and argv[1] == "run":
        return run(argv[2:])
    elif len(argv) >= 2 and argv[1] == "score":
        print(json.dumps(score(argv[2], argv[3], argv[4], argv[5])))
    elif len(argv) >= 2 and argv[1] == "row":
        row(argv[2:])
    elif len(argv) >= 2 and argv[1] == "table":
        table(argv[2], argv[3], argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
