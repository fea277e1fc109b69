#!/usr/bin/env python3
"""Lists Rust functions longer than a limit (default 100 lines), body braces included.

Usage: python3 tools/long_functions.py [LIMIT] [PATH...]   (default paths: src crates)

A brace counter, not a parser: it skips string/char literals and comments well enough for
this codebase's style (rustfmt output). Exit status 1 when any function is over the limit.
"""
import re
import sys
from pathlib import Path

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def strip(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split("//", 1)[0]


def functions(path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            code = strip(lines[j])
            if not opened and ";" in code and "{" not in code:
                break  # a declaration without a body
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                yield m.group(6), i + 1, j - i + 1
                break
            j += 1
        i += 1


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    roots = [Path(p) for p in sys.argv[2:]] or [Path("src"), Path("crates")]
    long = []
    for root in roots:
        for path in sorted(root.rglob("*.rs")):
            for name, line, n in functions(path):
                if n > limit:
                    long.append((n, f"{path}:{line}", name))
    for n, where, name in sorted(long, reverse=True):
        print(f"{n:5d}  {where}  {name}")
    return 1 if long else 0


if __name__ == "__main__":
    sys.exit(main())
