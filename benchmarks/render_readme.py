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


#: published Kendall tau on NB201 CIFAR-10 at 469 / 781 / 1,563 training architectures
#: (LeDG-Former paper; methods.md §2 and issue 3). NN-Former trains on validation accuracy and
#: tests on test accuracy; our rows train and test on the official test accuracy (``cifar10``).
PUBLISHED_NB201 = {"NN-Former (published)": (0.860, 0.879, 0.890),
                   "LeDG-Former (published)": (0.864, 0.881, 0.892)}
METHOD_ORDER = ("params", "flops", "mlp", "gin", "transformer", "tart", "ledg")


def _pm(r: dict | None) -> str:
    return f"{r['kendall_tau_mean']:.3f} ± {r['kendall_tau_std']:.3f}" if r else ""


MAIN_VARIANTS = ("default", "archrep")


def _label(r: dict) -> str:
    """Column name: the method for its paper setting, 'method (archrep)' for our variant."""
    v = r.get("variant", "default")
    return r["method"] if v == "default" else f"{r['method']} ({v})"


def _main(recs: list[dict]) -> list[dict]:
    return [r for r in recs if r.get("variant", "default") in MAIN_VARIANTS]


def _methods(recs: list[dict]) -> list[str]:
    def key(r):
        m = r["method"]
        return (METHOD_ORDER.index(m) if m in METHOD_ORDER else len(METHOD_ORDER), m, r.get("variant", "default"))
    return list(dict.fromkeys(_label(r) for r in sorted(recs, key=key)))


def accuracy_table() -> str:
    """Kendall tau (mean ± std over seeds) per dataset/target/size row and method column
    (the faithful ``default`` variant of each method)."""
    recs = _main(_load("accuracy_prediction"))
    if not recs:
        return "_No results yet: run `python benchmarks/accuracy_prediction.py`._"
    methods = _methods(recs)
    rows: dict[tuple, dict] = {}
    for r in recs:
        rows.setdefault((r["dataset"], r["target"], r["protocol"], r["train_size"]), {})[_label(r)] = r
    lines = ["| dataset | target | protocol | train | " + " | ".join(methods) + " | seeds |",
             "|---|---|---|---:|" + "---:|" * len(methods) + "---|"]
    for (ds, target, proto, n), by_method in sorted(rows.items()):
        cells = [_pm(by_method.get(m)) for m in methods]
        seeds = sorted({tuple(r["seeds"]) for r in by_method.values()})
        lines.append(f"| {ds} | {target} | {proto} | {n:,} | " + " | ".join(cells)
                     + f" | {', '.join(','.join(map(str, s)) for s in seeds)} |")
    on_nb201 = [r for r in recs if r["dataset"] == "nb201"]
    speed = {m: max(r["archs_per_second"] for r in on_nb201 if _label(r) == m)
             for m in methods if any(_label(r) == m for r in on_nb201)}
    at_781 = [r for r in recs if r["dataset"] == "nb201" and r["train_size"] == 781]
    fit = {m: max(r["seconds"] / len(r["seeds"]) for r in at_781 if _label(r) == m)
           for m in methods if any(_label(r) == m for r in at_781)}
    commits = sorted({r.get("git_commit", "?") for r in recs})
    machines = sorted({r.get("machine", "?") for r in recs})
    lines += ["", "Inference speed (fastest NB201 cell, architectures per second, one CPU thread; params/flops only "
              "read a column): "
              + ", ".join(f"{m} {speed[m]:,.0f}" for m in methods) + ".",
              "Training time per seed at 781 NB201 architectures (slowest target, seconds): "
              + ", ".join(f"{m} {s:.0f}" for m, s in fit.items()) + ".",
              f"Machine: {'; '.join(machines)}. Commit(s): {', '.join(commits)}."]
    return "\n".join(lines)


def published_table() -> str:
    """Ours beside the published NB201 numbers: official CIFAR-10 test accuracy, space-fraction."""
    recs = [r for r in _main(_load("accuracy_prediction"))
            if r["dataset"] == "nb201" and r["target"] == "cifar10" and r["protocol"] == "space-fraction"]
    if not recs:
        return "_No results yet._"
    sizes = (469, 781, 1563)
    lines = ["| method | 469 (3 %) | 781 (5 %) | 1,563 (10 %) |", "|---|---:|---:|---:|"]
    for name, taus in PUBLISHED_NB201.items():
        lines.append(f"| {name} | " + " | ".join(f"{t:.3f}" for t in taus) + " |")
    for m in _methods(recs):
        by_n = {r["train_size"]: r for r in recs if _label(r) == m}
        lines.append(f"| {m} (ours) | " + " | ".join(_pm(by_n.get(n)) or "–" for n in sizes) + " |")
    return "\n".join(lines)


def ablation_table() -> str:
    """Every named variant beside its method's default, NB201 cifar10 at 781."""
    recs = [r for r in _load("accuracy_prediction") if r["dataset"] == "nb201" and r["target"] == "cifar10"
            and r["train_size"] == 781 and r["protocol"] == "space-fraction"]
    with_variants = sorted({r["method"] for r in recs if r.get("variant", "default") != "default"})
    if not with_variants:
        return "_No ablation results yet: run `python benchmarks/accuracy_prediction.py --parts ablations`._"
    lines = ["| method | variant | Kendall tau | Spearman | fit s / seed | seeds |", "|---|---|---:|---:|---:|---|"]
    for m in with_variants:
        for r in sorted((r for r in recs if r["method"] == m), key=lambda r: (r["variant"] != "default", r["variant"])):
            lines.append(f"| {m} | {r['variant']} | {_pm(r)} | {r['spearman_mean']:.3f} ± {r['spearman_std']:.3f} | "
                         f"{r['seconds'] / len(r['seeds']):.0f} | {','.join(map(str, r['seeds']))} |")
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


TABLES = {"accuracy_prediction": accuracy_table, "published_nb201": published_table,
          "ablations": ablation_table, "data_loading": loading_table}


def render(text: str) -> str:
    for name, fn in TABLES.items():
        pattern = re.compile(rf"(<!-- results:{name} -->\n)(?:.*?\n)?(<!-- /results:{name} -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + fn() + "\n" + m.group(2), text)
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
