"""Reading divan's result table: what the bench scripts share."""

import re
import statistics
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


def parse_interleaved(path):
    """The bench's own lines after divan's table: "interleaved
    group/name median_ns 1234.5 min_ns 1000.0 paired_first 1.0000"."""
    found = {}
    for line in open(path, encoding="utf-8"):
        fields = line.split()
        if len(fields) == 8 and fields[0] == "interleaved":
            found[fields[1]] = {"median": float(fields[3]), "min": float(fields[5]), "paired": float(fields[7])}
    return found


class Runs:
    """The results of several bench processes: divan's tables and the
    interleaved rounds."""

    def __init__(self, outputs):
        self.runs = [parse(path) for path in outputs]
        self.mixed = [found for found in (parse_interleaved(path) for path in outputs) if found]

    def per_run(self, name, stat="median"):
        values = [run[name][stat] for run in self.runs if name in run]
        if not values:
            sys.exit(f"no result for {name} in divan's output")
        return values

    def time(self, name):
        return statistics.median(self.per_run(name))

    def fastest(self, name):
        return min(self.per_run(name, "fastest"))

    def ratios(self, a, b, stat="median"):
        return [run[a][stat] / run[b][stat] for run in self.runs if a in run and b in run]
