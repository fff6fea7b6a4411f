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


def fmt(value):
    """A time in ns, in the unit that reads best."""
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e3:
        return f"{value / 1e3:.2f} µs"
    return f"{value:.1f} ns"


class Report(Runs):
    """The summary being written: rows of times and ratios over the runs."""

    def __init__(self, outputs, label_width=50):
        super().__init__(outputs)
        self.lines = []
        self.say = self.lines.append
        self.label_width = label_width

    def row(self, name, label=None):
        label = label or name.split("/", 1)[1]
        self.say(f"  {label:<40} {fmt(self.time(name)):>11}  [{fmt(self.fastest(name))}]")

    def show_ratio(self, label, a, b):
        """Prints a/b per run and their median; returns the medians of the
        runs' median and fastest-sample ratios."""
        values, quickest = self.ratios(a, b), self.ratios(a, b, "fastest")
        each = ", ".join(f"{v:.3f}" for v in values)
        each_fastest = ", ".join(f"{v:.3f}" for v in quickest)
        self.say(f"{label:<{self.label_width}} {statistics.median(values):7.3f} (runs: {each})"
                 f"  [fastest: {statistics.median(quickest):.3f} ({each_fastest})]")
        return statistics.median(values), statistics.median(quickest)

    def text(self):
        return "\n".join(self.lines)
