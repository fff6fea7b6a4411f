"""Reading divan's result table: what the bench scripts share."""

import re
import sys

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}

def ns(cell):
    value, unit = cell.split()
    return float(value) * UNITS[unit]

def parse(path):
    """divan's tree: "├─ name   fastest │ slowest │ median │ mean │ samples │
    iters", three characters of indentation per level."""
    results, names = {}, []
    for line in open(path, encoding="utf-8"):
        match = re.match(r"^((?:[│ ]  )*)[├╰]─ (\S+)(.*)$", line.rstrip("\n"))
        if not match:
            continue
        depth = len(match.group(1)) // 3
        names[depth:] = [match.group(2)]
        cells = [cell.strip() for cell in match.group(3).split("│")]
        if len(cells) >= 6 and cells[0]:
            results["/".join(names)] = {"fastest": ns(cells[0]), "median": ns(cells[2])}
    if not results:
        sys.exit(f"no results in {path}")
    return results
