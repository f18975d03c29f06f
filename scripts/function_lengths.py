#!/usr/bin/env python3
"""Lines of every function defined at the top level of src/*.cpp, longest first.

A definition starts at a line in column 0 that holds a '(' and is not a comment, directive,
namespace, type or constant; it runs to the next '}' in column 0 (the clang-format layout).
Usage: scripts/function_lengths.py [HOW_MANY]   (issue 21: none over 80 lines but the kernels)
"""
import glob
import sys

SKIP = ("//", "#", "namespace", "}", "using", "struct", "class", "enum", "static_assert",
        "template", "constexpr", "const ", "extern")
rows = []
for path in sorted(glob.glob("src/*.cpp")):
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line and not line[0].isspace() and not line.startswith(SKIP) and "(" in line:
            j = i
            while j < len(lines) and not lines[j].rstrip().endswith(("{", ";", "}")):
                j += 1
            if j < len(lines) and lines[j].rstrip().endswith("}"):  # a body on one line
                rows.append((j - i + 1, path, i + 1, line[:60]))
                i = j
            elif j < len(lines) and lines[j].rstrip().endswith("{"):
                k = j + 1
                while k < len(lines) and lines[k] != "}":
                    k += 1
                rows.append((k - i + 1, path, i + 1, line[:60]))
                i = k
        i += 1
rows.sort(reverse=True)
for n, path, line_no, text in rows[: int(sys.argv[1]) if len(sys.argv) > 1 else 15]:
    print(f"{n:4}  {path}:{line_no}  {text}")
