#!/usr/bin/env python3
"""Prep only: pick the texts of the embedded sentence population.

Every unique one-line package description of at least 20 characters from `apt-cache dumpavail`
(Debian bookworm package index; run `apt-get update` first), sorted, shuffled with Python's
random.Random(0), first N kept. Writes one text per line. The committed file
data/debian_descriptions_4096.txt is the output of this script; the package index changes over
time, so the committed file, not this script, is the reference.

usage: scripts/make_sentence_texts.py OUT.txt [N=4096]
"""
import random
import subprocess
import sys


def main() -> None:
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    dump = subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True, text=True).stdout
    texts = set()
    for line in dump.splitlines():
        if line.startswith("Description:"):
            t = line[len("Description:"):].strip()
            if len(t) >= 20:
                texts.add(t)
    texts = sorted(texts)
    random.Random(0).shuffle(texts)
    with open(out, "w", encoding="utf-8") as f:
        for t in texts[:n]:
            f.write(t + "\n")
    print(f"{len(texts)} unique descriptions, wrote {min(n, len(texts))} to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
