"""Render the README's results tables from benchmarks/results/*.json (never typed by hand).

Each table lives between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` in README.md;
this script replaces what is between the markers.

    python benchmarks/render_readme.py            # rewrite README.md
    python benchmarks/render_readme.py --check    # exit 1 if README.md is out of date
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _load(name: str) -> list[dict]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else []


def accuracy_table() -> str:
    """Kendall tau (mean ± std over seeds) per dataset/target/size row and method column."""
    recs = _load("accuracy_prediction")
    if not recs:
        return "_No results yet: run `python benchmarks/accuracy_prediction.py`._"
    methods = sorted({r["method"] for r in recs}, key=lambda m: (m not in ("params", "flops"), m))
    rows: dict[tuple, dict] = {}
    for r in recs:
        rows.setdefault((r["dataset"], r["target"], r["protocol"], r["train_size"]), {})[r["method"]] = r
    lines = ["| dataset | target | protocol | train | " + " | ".join(methods) + " | seeds |",
             "|---|---|---|---:|" + "---:|" * len(methods) + "---|"]
    for (ds, target, proto, n), by_method in sorted(rows.items()):
        cells = []
        for m in methods:
            r = by_method.get(m)
            cells.append(f"{r['kendall_tau_mean']:.3f} ± {r['kendall_tau_std']:.3f}" if r else "")
        seeds = sorted({tuple(r["seeds"]) for r in by_method.values()})
        lines.append(f"| {ds} | {target} | {proto} | {n:,} | " + " | ".join(cells)
                     + f" | {', '.join(','.join(map(str, s)) for s in seeds)} |")
    speed = {m: max(r["archs_per_second"] for r in recs if r["method"] == m) for m in methods}
    commits = sorted({r.get("git_commit", "?") for r in recs})
    machines = sorted({r.get("machine", "?") for r in recs})
    lines += ["", "Inference speed (best cell, architectures per second): "
              + ", ".join(f"{m} {speed[m]:,.0f}" for m in methods) + ".",
              f"Machine: {'; '.join(machines)}. Commit(s): {', '.join(commits)}."]
    return "\n".join(lines)


def loading_table() -> str:
    recs = _load("data_loading")
    if not recs:
        return "_No results yet._"
    lines = ["| dataset | data folder | cold build (s) | warm cache load (s) |", "|---|---|---:|---:|"]
    for r in recs:
        lines.append(f"| {r['dataset']} | {'yes' if r['with_data_dir'] else 'no'} | {r['cold_seconds']:.2f} | "
                     f"{r['warm_seconds_mean']:.3f} ± {r['warm_seconds_std']:.3f} ({r['repeats']} loads) |")
    return "\n".join(lines)


TABLES = {"accuracy_prediction": accuracy_table, "data_loading": loading_table}


def render(text: str) -> str:
    for name, fn in TABLES.items():
        pattern = re.compile(rf"(<!-- results:{name} -->\n).*?(\n<!-- /results:{name} -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + fn() + m.group(2), text)
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    args = ap.parse_args(argv)
    readme = ROOT / "README.md"
    old = readme.read_text()
    new = render(old)
    if args.check:
        if new != old:
            print("README.md results tables are out of date: run python benchmarks/render_readme.py")
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
