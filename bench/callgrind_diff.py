#!/usr/bin/env python3
"""Instructions per call of each function: the inclusive counts of two callgrind runs of the
same statements (N1 and N2 calls) subtracted and divided by N2 - N1, largest first.

Usage: bench/callgrind_diff.py SMALL.out LARGE.out CALLS_DIFFERENCE [LIMIT]
"""
import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def inclusive(path):
    """Maps each function of a callgrind file to its inclusive instruction count."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in out.splitlines():
        match = LINE.match(line)
        if match and not match.group(2).startswith(("=>", ">", "*")):
            name = match.group(2)
            counts[name] = counts.get(name, 0) + int(match.group(1).replace(",", ""))
    return counts


def main():
    small, large = inclusive(sys.argv[1]), inclusive(sys.argv[2])
    calls = int(sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    rows = sorted(((large[f] - small.get(f, 0)) / calls, f) for f in large)
    for per_call, name in reversed(rows[-limit:]):
        print(f"{per_call:12,.0f}  {name[:150]}")


main()
