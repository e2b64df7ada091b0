#!/usr/bin/env python3
"""Write the text inputs used by make_sources.sh.

Everything here is original: a handful of hand-written paragraphs plus
pseudo-random "words" built from a fixed syllable table by a seeded
random.Random, so the output is identical on every run.
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

SYLLABLES = ("ka ro mi tu sel var den pho lin gra bex tor quo ni sa fen "
             "dral mur ost pel wix zan cho rud ilm ebo yat hus kel tri "
             "mon vel sar gud pim lox fre ash ulp ner").split()

INTRO = [
    "Salvor is a toolkit for pulling archives back out of raw disk images "
    "when the file system that once described them is gone or lying.",
    "A carver reads the image as a plain stream of bytes. It looks for the "
    "small signatures that begin a local file header, walks forward member "
    "by member, and tries to find the central directory and the end record "
    "that close the archive.",
    "Real media is rarely kind. Sectors go missing, a later file overwrites "
    "the tail of an earlier one, and a single flipped bit can turn a "
    "perfectly good deflate stream into noise halfway through.",
    "These test documents exist so that every claim the carver makes can be "
    "checked against a ground truth that was written down before the image "
    "was built.",
]


def word(rng):
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))


def sentence(rng):
    n = rng.randint(5, 16)
    w = [word(rng) for _ in range(n)]
    w[0] = w[0].capitalize()
    return " ".join(w) + rng.choice([".", ".", ".", "?", "!"])


def paragraph(rng, lo=3, hi=8):
    return " ".join(sentence(rng) for _ in range(rng.randint(lo, hi)))


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    # words.txt: big, poorly compressible member for infozip.zip
    rng = random.Random(20240501)
    lines = []
    while sum(len(l) + 1 for l in lines) < 72000:
        lines.append(" ".join(word(rng) for _ in range(rng.randint(6, 12))))
    write("words.txt", "\n".join(lines) + "\n")

    # report.html: a few pages for LibreOffice Writer
    rng = random.Random(20240502)
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             "<title>Salvor field notes</title></head><body>",
             "<h1>Salvor field notes</h1>"]
    for p in INTRO:
        parts.append("<p>%s</p>" % p)
    for sec in range(1, 9):
        parts.append("<h2>Section %d: %s</h2>" % (sec, word(rng).capitalize()))
        for _ in range(5):
            parts.append("<p>%s</p>" % paragraph(rng))
        parts.append("<ul>")
        for _ in range(4):
            parts.append("<li>%s</li>" % sentence(rng))
        parts.append("</ul>")
    parts.append("</body></html>")
    write("report.html", "\n".join(parts) + "\n")

    # book.md: a small book for pandoc -> epub
    rng = random.Random(20240503)
    md = ["---", "title: The Carver's Almanac", "author: Salvor test data",
          "lang: en", "---", ""]
    for ch in range(1, 5):
        md.append("# Chapter %d: %s" % (ch, word(rng).capitalize()))
        md.append("")
        if ch == 1:
            md.extend(p + "\n" for p in INTRO)
        for _ in range(6):
            md.append(paragraph(rng))
            md.append("")
    write("book.md", "\n".join(md) + "\n")

    # sheet.csv: a small table for LibreOffice Calc
    rng = random.Random(20240504)
    rows = ["id,name,sector,length,crc"]
    for i in range(1, 401):
        rows.append("%d,%s,%d,%d,%08x" % (i, word(rng), rng.randrange(1 << 24),
                                          rng.randrange(100, 90000),
                                          rng.getrandbits(32)))
    write("sheet.csv", "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
