"""Render the README's results tables from benchmarks/results/*.json (never typed by hand).

Each table lives between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` in README.md;
this script replaces what is between the markers.

    python benchmarks/render_readme.py            # rewrite README.md
    python benchmarks/render_readme.py --check    # exit 1 if README.md is out of date
"""
from __future__ import annotations

import argparse
import json
import math
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


def _pm(r: dict | None, key: str = "kendall_tau", fmt: str = ".3f", scale: float = 1.0, spread: bool = True) -> str:
    """``key``'s mean ± std of a record (times ``scale``; the mean alone without ``spread``), ''
    for no record or no ``key``."""
    if not r or key + "_mean" not in r:
        return ""
    mean = f"{r[key + '_mean'] * scale:{fmt}}"
    return f"{mean} ± {r[key + '_std'] * scale:{fmt}}" if spread else mean


def _md(cols: list[str], rows: list[list], left: int = 1) -> list[str]:
    """Markdown table lines; the first ``left`` columns left-aligned, the others right-aligned."""
    return (["| " + " | ".join(cols) + " |", "|" + "---|" * left + "---:|" * (len(cols) - left)]
            + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def _missing(command: str) -> str:
    return f"_No results yet: run `python benchmarks/{command}`._"


def _provenance(recs: list[dict]) -> str:
    commits = sorted({r.get("git_commit", "?") for r in recs})
    machines = sorted({r.get("machine", "?") for r in recs})
    return f"Machine: {'; '.join(machines)}. Commit(s): {', '.join(commits)}."


def _runs(recs: list[dict], key: str = "runs", word: str = "run") -> str:
    """'1 run' / '3 runs' / '1-3 runs' over the records (``key`` counts them, else their seeds)."""
    n = sorted({r.get(key) or len(r.get("seeds") or [None]) for r in recs})
    span = str(n[0]) if len(n) == 1 else f"{n[0]}-{n[-1]}"
    return f"{span} {word}{'s' if n[-1] > 1 else ''}"


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
    lines += ["", "Inference speed (fastest NB201 cell, architectures per second, one CPU thread; params/flops only "
              "read a column): "
              + ", ".join(f"{m} {speed[m]:,.0f}" for m in methods) + ".",
              "Training time per seed at 781 NB201 architectures (slowest target, seconds): "
              + ", ".join(f"{m} {s:.0f}" for m, s in fit.items()) + ".",
              _provenance(recs)]
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
            lines.append(f"| {m} | {r['variant']} | {_pm(r)} | {_pm(r, 'spearman')} | "
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


def lap_table() -> str:
    """Batched LAP tokenizer vs the per-graph numpy eigh loop, per graph set."""
    recs = _load("lap_tokenizer")
    if not recs:
        return _missing("lap_tokenizer.py")
    rows = [[r["dataset"], f"{r['method']} ({r['variant']})", f"{r['graphs']:,}", f"{r['mean_nodes']:.0f}",
             _pm(r, "seconds"), f"{r['speedup']:.1f}×"] for r in recs]
    return "\n".join(_md(["graph set", "method", "graphs", "mean nodes", "seconds", "speed-up"], rows, left=2)
                     + ["", f"Mean ± std over {_runs(recs, 'repeats', 'repeat')}, "
                        f"{recs[0]['torch_threads']} torch threads. " + _provenance(recs)])


def flow_table() -> str:
    """Flow-surrogate (FGP labels) time for a whole space: computed vs loaded from the cache."""
    recs = _load("flow_surrogate")
    if not recs:
        return _missing("flow_surrogate.py")
    rows = [[r["dataset"], r["variant"], f"{r['archs']:,}", _pm(r, "seconds", ".4f"), f"{r['archs_per_second']:,.0f}"]
            for r in recs]
    return "\n".join(_md(["dataset", "variant", "archs", "seconds", "archs / s"], rows, left=2)
                     + ["", f"Mean ± std over {_runs(recs, 'repeats', 'repeat')}. " + _provenance(recs)])


def enumeration_table() -> str:
    """Enumerating every unique cell of a space, checked against the official count and hashes."""
    recs = _load("enumeration")
    if not recs:
        return _missing("enumeration.py")
    rows = [[r["space"], f"{r['n_unique_cells']:,}", f"{r['official_count']:,}", f"{r['seconds']:.2f}",
             f"{r['seconds_cached_load']:.3f}",
             f"{r['n_distinct_hashes']:,} distinct ({r['check_seconds']:.0f} s)" if r.get("hash_checked") else "–"]
            for r in recs]
    return "\n".join(_md(["space", "unique cells", "official", "enumerate (s)", "cached load (s)", "hash check"], rows)
                     + ["", "One run each. " + _provenance(recs)])


def latency_table() -> str:
    """MAPE (%) per held-out device setting: zero-shot methods, and the best few-shot method at each k."""
    recs = _load("latency_prediction")
    zero = [r for r in recs if r["protocol"] == "zero-shot-device"]
    few = [r for r in recs if r["protocol"] == "few-shot-device"]
    if not zero and not few:
        return _missing("latency_prediction.py")
    methods = list(dict.fromkeys(_label(r) for r in zero))
    ks = sorted({r["train_size"] for r in few})
    rows = []
    for setting in dict.fromkeys(r["setting"] for r in zero + few):
        by_method = {_label(r): r for r in zero if r["setting"] == setting}
        best = [min((r for r in few if r["setting"] == setting and r["train_size"] == k),
                    key=lambda r: r["mape_mean"], default=None) for k in ks]
        rows.append([setting] + [_pm(by_method.get(m), "mape", ".1f", 100) for m in methods]
                    + [f"{_pm(b, 'mape', '.1f', 100)}, {_label(b)}" if b else "" for b in best])
    lines = _md(["setting"] + [f"zero-shot {m}" for m in methods] + [f"few-shot k={k} best" for k in ks], rows)
    cross = [r for r in recs if r["protocol"] == "cross-space"]
    for method in dict.fromkeys(_label(r) for r in cross):
        rs = [r for r in cross if _label(r) == method]
        lines += ["", f"Cross-space ({method} fitted on {rs[0]['train']}, tested on {rs[0]['dataset']}, "
                  f"{_runs(rs)}): MAPE % / Spearman "
                  + ", ".join(f"{r['setting']} {_pm(r, 'mape', '.1f', 100)} / {r['spearman_mean']:.2f}" for r in rs)
                  + "."]
    return "\n".join(lines + ["", f"Mean ± std over {_runs(zero + few)}. " + _provenance(recs)])


def latency_zoo_table() -> str:
    """The seed's Tables 1-3 on the zoo measured here: per protocol and platform, one row per test
    family plus the average, one column per method, MAPE % / Acc(10%) % as mean ± std over runs,
    and the best run of the average row."""
    recs = _fullest_training([r for r in _load("latency_prediction")
                              if r.get("protocol") in ("in-domain", "leave-family-out")])
    if not recs:
        return _missing("latency_prediction.py --protocols in-domain,leave-family-out")
    order = ("flops-linear", "flops-macs-linear", "kernel-additive", "kernel-gbdt", "gin", "tart", "ledg")
    methods = sorted({_label(r) for r in recs},
                     key=lambda m: (order.index(m.split()[0]) if m.split()[0] in order else len(order), m))
    lines = []
    for dataset, passes, protocol, setting in dict.fromkeys((r["dataset"], r.get("label_passes"), r["protocol"],
                                                             r["setting"]) for r in recs):
        cell = {(r["family"], _label(r)): r for r in recs
                if (r["dataset"], r.get("label_passes"), r["protocol"], r["setting"]) == (dataset, passes, protocol,
                                                                                          setting)}
        families = sorted({f for f, _ in cell if f != "all"}) + ["all"]
        rows = [["average" if f == "all" else f]
                + [f"{_pm(cell.get((f, m)), 'mape', '.2f', 100)} / {_pm(cell.get((f, m)), 'acc10', '.1f', 100)}"
                   if (f, m) in cell else "" for m in methods] for f in families]
        rows.append(["average, best run"] + [f"{cell[('all', m)]['mape_best'] * 100:.2f} / "
                                             f"{cell[('all', m)]['acc10_best'] * 100:.1f}" if ("all", m) in cell
                                             else "" for m in methods])
        first = next(iter(cell.values()))
        title = ("In-domain (a seeded 10 % of every family held out)" if protocol == "in-domain"
                 else "Out-of-domain (leave one family out; each row is the held-out family)")
        caps = {}
        for (f, m), r in cell.items():
            caps.setdefault(r["train_per_family"] or "all", set()).add(m)
        cap_text = "; ".join((f"up to {c}" if c != "all" else "all") + ("" if len(caps) == 1 else
                             f" for {', '.join(sorted(ms))}") for c, ms in caps.items())
        label = ("" if dataset == "zoo-latency" else f", labels of `{dataset}`") + _passes_text(passes)
        lines += [f"**{title}**{label}, platform `{setting}` ({first['platform']}), noise floor (median IQR / median) "
                  f"{first['rel_spread_median'] * 100:.1f} %, {_runs(list(cell.values()))}, training models per "
                  f"family: {cap_text}:", ""]
        lines += _md(["test family"] + [f"{m} MAPE / Acc10" for m in methods], rows) + [""]
    return "\n".join(lines + ["MAPE and Acc(10%) in %, mean ± std over runs (seeds). " + _provenance(recs)])


def _passes_note(r: dict) -> str:
    """'3-pass labels' for a record labelled by the median of several passes, '' for one pass."""
    return f"{r['label_passes']}-pass labels" if r.get("label_passes") else ""


def _passes_text(passes: int | None) -> str:
    """How a zoo record's labels were measured, for a table title ('' for one pass, the usual)."""
    return f", labels: the median of up to {passes} measurement passes" if passes else ""


def _cap(r: dict) -> float:
    """A zoo record's cap on training models per family (0 = all of them)."""
    return r.get("train_per_family") or float("inf")


def _fullest_training(recs: list[dict]) -> list[dict]:
    """Of the zoo records that differ only in their cap on training models per family, the one
    with the largest cap (the smaller ones are a learning curve, :func:`latency_learning_curve_table`)."""
    best: dict = {}
    for r in recs:
        key = (r["dataset"], r.get("label_passes"), r["protocol"], r["setting"], _label(r), r["family"])
        if key not in best or _cap(r) > _cap(best[key]):
            best[key] = r
    return list(best.values())


def _best(recs: list[dict], method: str) -> dict | None:
    """The record of ``method``'s variant with the lowest mean MAPE, or None."""
    cands = [r for r in recs if r["method"] == method]
    return min(cands, key=lambda r: r["mape_mean"]) if cands else None


def _mape(r: dict | None, named: bool = False) -> str:
    if r is None:
        return ""
    variant = r.get("variant", "default")
    names = [n for n in (variant if variant != "default" else "", _passes_note(r)) if n]
    return f"{r['mape_mean'] * 100:.2f}" + (f" ({', '.join(names)})" if named and names else "")


def latency_goal_table() -> str:
    """Issue 5's goals per zoo platform, from the records (average over families): LeDG-Former's
    best variant in-domain against MAPE ≤ 3 % and Acc(10%) ≥ 95 %; leave-family-out against both
    FLOPs laws and the GIN's best variant; zero-shot across platforms against FLOPs-linear transfer."""
    zoo = [r for r in _load("latency_prediction") if r.get("dataset") == "zoo-latency" and r.get("family") == "all"]
    recs = _fullest_training([r for r in zoo if r["protocol"] in ("in-domain", "leave-family-out")])
    recs += [r for r in zoo if r["protocol"] == "zero-shot-platform" and not r.get("train_platforms")]
    settings = list(dict.fromkeys(r["setting"] for r in recs if r["method"] == "ledg"))
    if not settings:
        return _missing("latency_prediction.py --protocols in-domain,leave-family-out,zero-shot-platform --methods ledg")
    rows = []
    for setting in settings:
        at = {p: [r for r in recs if r["setting"] == setting and r["protocol"] == p]
              for p in ("in-domain", "leave-family-out", "zero-shot-platform")}
        ledg = {p: _best(rs, "ledg") for p, rs in at.items()}
        row = [f"`{setting}`"]
        if ledg["in-domain"]:
            r = ledg["in-domain"]
            row += [f"{_mape(r, True)} / {r['acc10_mean'] * 100:.1f}",
                    "met" if r["mape_mean"] <= 0.03 and r["acc10_mean"] >= 0.95 else "missed"]
        else:
            row += ["", ""]
        rivals = [_best([r for r in at["leave-family-out"] if r.get("variant", "default") == "default"], m)
                  for m in ("flops-linear", "flops-macs-linear")] + [_best(at["leave-family-out"], "gin")]
        r = ledg["leave-family-out"]
        row += [_mape(r, True)] + [_mape(x, True) for x in rivals]
        row.append("" if r is None or None in rivals else
                   "met" if all(r["mape_mean"] < x["mape_mean"] for x in rivals) else "missed")
        row += [_mape(_best(at["leave-family-out"], m), True) for m in ("kernel-additive", "kernel-gbdt")]
        transfer = next((x for x in at["zero-shot-platform"] if x["method"] == "flops-linear"), None)
        r = ledg["zero-shot-platform"]
        row += [_mape(r, True), _mape(transfer),
                "" if r is None or transfer is None else "met" if r["mape_mean"] < transfer["mape_mean"] else "missed"]
        rows.append(row)
    cells = [r for r in recs if r["setting"] in settings]
    return "\n".join(_md(["platform", "in-domain ledg MAPE / Acc10", "≤ 3 % and ≥ 95 %",
                           "out-of-domain ledg", "flops-linear", "flops-macs-linear", "gin", "below all three",
                           "kernel-additive (not in the goal)", "kernel-gbdt (ours, not in the goal)",
                           "zero-shot ledg", "flops-linear (transfer)", "below it"], rows)
                      + ["", "MAPE and Acc(10%) in %, average over the families, mean over runs; each predictor's "
                         "best variant (named when not the paper's, with its labels' passes when several). "
                         + _provenance(cells)])


def latency_learning_curve_table() -> str:
    """In-domain zoo MAPE against the cap on training models per family, for every (platform, method)
    measured at more than one cap: would more models per family help?"""
    recs = [r for r in _load("latency_prediction") if r.get("protocol") == "in-domain" and r.get("family") == "all"
            and r.get("dataset") == "zoo-latency"]
    runs = {}
    for r in recs:
        method = ", ".join(n for n in (_label(r), _passes_note(r)) if n)
        runs.setdefault((r["setting"], method), {})[_cap(r)] = r
    runs = {k: v for k, v in runs.items() if len(v) > 1}
    if not runs:
        return _missing("latency_prediction.py --protocols in-domain --train-per-family N (several N)")
    caps = sorted({c for v in runs.values() for c in v})
    rows = [[f"`{setting}`", method] + [_pm(v.get(c), "mape", ".2f", 100) if c in v else "" for c in caps]
            for (setting, method), v in runs.items()]
    cells = [r for v in runs.values() for r in v.values()]
    return "\n".join(_md(["platform", "method"] + [f"≤ {c:g} / family" if c != float("inf") else "all" for c in caps],
                         rows, left=2)
                     + ["", f"In-domain MAPE % (average over families), mean ± std over {_runs(cells)}. "
                        + _provenance(cells)])


def latency_passes_table() -> str:
    """The same zoo cells with one-pass labels and with labels that are the median of several passes
    (``--zoo-passes``): one row per (protocol, platform, method, cap) measured both ways."""
    recs = [r for r in _load("latency_prediction") if r.get("dataset") == "zoo-latency" and r.get("family") == "all"
            and r.get("protocol") in ("in-domain", "leave-family-out")]
    cells: dict = {}
    for r in recs:
        key = (r["protocol"], r["setting"], _label(r), r.get("train_per_family") or "all")
        cells.setdefault(key, {})[r.get("label_passes") or 1] = r
    cells = {k: v for k, v in cells.items() if len(v) > 1}
    if not cells:
        return _missing("latency_prediction.py --protocols in-domain --zoo-passes 1 (on a file with several passes)")
    passes = sorted({n for v in cells.values() for n in v})
    rows = [[protocol, f"`{setting}`", method, cap] + [
        f"{_pm(v.get(n), 'mape', '.2f', 100)} / {_pm(v.get(n), 'acc10', '.1f', 100)}" if n in v else "" for n in passes]
        for (protocol, setting, method, cap), v in sorted(cells.items(), key=lambda kv: tuple(map(str, kv[0])))]
    used = [r for v in cells.values() for r in v.values()]
    return "\n".join(_md(["protocol", "platform", "method", "training models per family"]
                         + [f"labels of {n} pass{'es' if n > 1 else ''}: MAPE / Acc10" for n in passes], rows, left=4)
                     + ["", f"MAPE / Acc(10%) in %, average over families, mean ± std over {_runs(used)}; the same "
                        "splits and seeds, train and test labels both from the passes named. " + _provenance(used)])


def latency_error_table() -> str:
    """In-domain zoo MAPE by the test model's measured latency: one row per (platform, method)."""
    recs = [r for r in _load("latency_error_analysis")]
    if not recs:
        return _missing("latency_error_analysis.py")
    bins = sorted({(r["bin_low_ms"], r["latency_bin"]) for r in recs})
    cells = {}
    for r in recs:
        cells.setdefault((r["setting"], _label(r)), {})[r["latency_bin"]] = r
    rows = [[f"`{setting}`", method] + [f"{_pm(v[b], 'mape', '.1f', 100)} ({v[b]['test_size']:.0f})" if b in v else ""
                                         for _, b in bins] for (setting, method), v in cells.items()]
    return "\n".join(_md(["platform", "method"] + [b for _, b in bins], rows, left=2)
                     + ["", f"MAPE % of the test models in each bin (their mean count per seed), mean ± std over "
                        f"{_runs(recs)}; plot: `benchmarks/results/latency_error_by_size.png`. " + _provenance(recs)])


def _platform_predictor(r: dict) -> str:
    """The predictor a cross-platform record belongs to: a few-shot ``calibrated[-X]`` record is the
    zero-shot predictor (variant X) calibrated on the k; FLOPs-linear ``transfer`` is the zero-shot
    form of the FLOPs law that few-shot fits on the k."""
    v = r.get("variant", "default")
    v = {"transfer": "default", "calibrated": "default"}.get(v, v.removeprefix("calibrated-"))
    return _label({**r, "variant": v})


def _cross_platform_table(recs: list[dict], missing: str, trained: str) -> str:
    """One row per (held-out platform, predictor) of cross-platform zoo records, columns zero-shot
    and each k; MAPE % / Acc(10%) % of the average over families; ``trained`` says what the fits saw."""
    if not recs:
        return _missing(missing)
    shots = sorted({r["train_size"] for r in recs if r["protocol"] == "few-shot-platform"})
    cells: dict = {}
    for r in recs:
        k = r["train_size"] if r["protocol"] == "few-shot-platform" else 0
        cells.setdefault((r["setting"], _platform_predictor(r)), {})[k] = r
    settings = list(dict.fromkeys(setting for setting, _ in cells))
    order = {m: i for i, m in enumerate(["nearest-platform", "flops-linear", "kernel-additive", "ledg"])}
    cells = dict(sorted(cells.items(), key=lambda kv: (settings.index(kv[0][0]),
                                                       order.get(kv[0][1].split(" ")[0], len(order)), kv[0][1])))
    rows = [[f"`{setting}`", predictor] + [f"{_pm(by_k[k], 'mape', '.1f', 100)} / {_pm(by_k[k], 'acc10', '.0f', 100)}"
                                           if k in by_k else "" for k in [0] + shots]
            for (setting, predictor), by_k in cells.items()]
    first = recs[0]
    return "\n".join(_md(["held-out platform", "predictor", "zero-shot"] + [f"k = {k}" for k in shots], rows, left=2) + [
        "", "MAPE / Acc(10%) in %, average over the "
        f"{len(first['families'])} families, mean ± std over {_runs(recs)}; training models: up to "
        f"{first['train_per_family'] or 'all'} per family on each seen platform; {trained}. Zero-shot "
        "`flops-linear` is one power law over the seen platforms (variant `transfer`), its k columns a power law "
        "fitted on the k; `ledg` and `nearest-platform` at k are the zero-shot prediction calibrated on the k; "
        "`kernel-additive` has no zero-shot form. " + _provenance(recs)])


def _platform_records(machine: bool) -> list[dict]:
    """Cross-platform zoo records (average over families): those whose fits saw only other machines
    (``machine``), or those that saw the other settings of the held-out platform's machine."""
    return [r for r in _load("latency_prediction") if r.get("protocol") in ("zero-shot-platform", "few-shot-platform")
            and r.get("family") == "all" and bool(r.get("train_platforms")) == machine]


def latency_platforms_table() -> str:
    """The zoo's cross-platform protocols, one platform held out and the other settings of its
    machine seen."""
    return _cross_platform_table(_platform_records(False),
                                 "latency_prediction.py --protocols zero-shot-platform,few-shot-platform",
                                 "seen: every other platform of the held-out one's machine")


def latency_machines_table() -> str:
    """The zoo's cross-platform protocols with the held-out platform's whole machine unseen
    (``--hold-out machine``): zero-shot to new hardware."""
    recs = _platform_records(True)
    seen = sorted({p for r in recs for p in r["train_platforms"]})
    return _cross_platform_table(recs, "latency_prediction.py --protocols zero-shot-platform,few-shot-platform "
                                       "--hold-out machine",
                                 "seen: only the platforms of the other machines (" + ", ".join(f"`{p}`" for p in seen)
                                 + ", less the held-out platform's machine), none of the held-out machine's")


def zoo_dataset_table() -> str:
    """The zoo-latency dataset per platform: models and families, models per family, the latency
    range, and the noise floor of its measurements."""
    recs = _load("zoo_dataset")
    if not recs:
        return _missing("zoo_dataset.py")
    rows = []
    for setting in dict.fromkeys(r["setting"] for r in recs):
        fams = [r for r in recs if r["setting"] == setting and r["family"] != "all"]
        a = next(r for r in recs if r["setting"] == setting and r["family"] == "all")
        counts = sorted(r["n_models"] for r in fams)
        rows.append([f"`{setting}`", a["platform"], a["n_models"], a["families"], f"{counts[0]}–{counts[-1]}",
                     f"{a['latency_ms_min']:.2f} / {a['latency_ms_median']:.1f} / {a['latency_ms_max']:.0f}",
                     f"{min(r['latency_span'] for r in fams):,.0f}×", f"{100 * a['rel_spread_median']:.1f} %",
                     f"{a['rounds_mean']:.2f}", f"{a.get('passes_mean', 1):.2f}",
                     f"{100 * a['one_pass_mape']:.2f} %" if "one_pass_mape" in a else "",
                     f"{a['speedup_median']:.2f}× ({a['speedup_q1']:.2f}–{a['speedup_q3']:.2f}; {a['speedup_pairs']})"
                     if "speedup_median" in a else ""])
    first = recs[0]
    return "\n".join(_md(["platform", "description", "models", "families", "models per family",
                           "latency ms (min / median / max)", "smallest family span (max / min)",
                           "noise floor (median IQR / median)", "timed rounds (mean)", "passes (mean)",
                           "one pass vs the median of the others (MAPE)",
                           "speed-up over fp32 t1 (median (quartiles; models))"], rows, left=2)
                      + ["", f"`{first['file']}`: {first['file_mb']:.2f} MB, {first['graphs']:,} graphs; plot: "
                         "`benchmarks/results/zoo_latency_ranges.png`. Speed-up: latency of the same models on "
                         "the same machine and runtime at fp32 on one thread / latency on this platform. "
                         + _provenance(recs)])


def latency_retest_table() -> str:
    """How well the stored zoo latencies reproduce when measured again: per platform and label
    statistic, the error of a new measurement against the stored one and against one of the same session."""
    recs = [r for r in _load("latency_retest") if r.get("family") == "all"]
    if not recs:
        return _missing("latency_retest.py")
    cell = {(r["setting"], r["variant"], r["protocol"]): r for r in recs}
    rows = []
    for setting, variant in dict.fromkeys((r["setting"], r["variant"]) for r in recs):
        between, within = cell.get((setting, variant, "between-session")), cell.get((setting, variant, "within-session"))
        rows.append([f"`{setting}`", variant, between and between["n_models"],
                     f"{_pm(between, 'mape', '.2f', 100)} / {_pm(between, 'acc10', '.1f', 100)}",
                     _pm(between, "drift", ".3f"), between and f"{between['hours_since_stored']:.0f}",
                     f"{_pm(within, 'mape', '.2f', 100)} / {_pm(within, 'acc10', '.1f', 100)}"])
    between = [r for r in recs if r["protocol"] == "between-session"]
    within = [r for r in recs if r["protocol"] == "within-session"]
    return "\n".join(_md(["platform", "label", "models", "vs stored: MAPE / Acc10", "vs stored: drift (median ratio)",
                           "hours since stored (median)", "same session: MAPE / Acc10"], rows, left=2)
                      + ["", f"MAPE / Acc(10%) in %, mean ± std over {_runs(between, word='re-measurement round')} "
                         f"(vs stored) and {_runs(within, word='pair')} of consecutive rounds (same session). "
                         + _provenance(recs)])


def latency_label_noise_table() -> str:
    """Predictors on the re-measured zoo models against the stored label and against the mean of
    the re-measurements, beside measuring again (``remeasure``): one row per (label set, platform, method)."""
    recs = [r for r in _load("latency_label_noise") if r.get("family") == "all"]
    if not recs:
        return _missing("latency_label_noise.py")
    cell = {(r["dataset"], r["setting"], _label(r), r["protocol"]): r for r in recs}
    rows = []
    order = ("remeasure", "flops-linear", "flops-macs-linear", "kernel-additive", "kernel-gbdt", "gin", "tart", "ledg")
    keys = sorted(dict.fromkeys((r["dataset"], r["setting"], _label(r)) for r in recs),
                  key=lambda k: (k[0], order.index(k[2].split()[0]) if k[2].split()[0] in order else len(order),
                                 k[2], k[1]))
    for dataset, setting, method in keys:
        stored, mean = cell.get((dataset, setting, method, "stored")), cell.get((dataset, setting, method, "retest-mean"))
        rows.append([f"`{dataset}`", f"`{setting}`", method, (stored or mean)["test_size"],
                     f"{_pm(stored, 'mape', '.2f', 100)} / {_pm(stored, 'acc10', '.1f', 100)}",
                     f"{_pm(mean, 'mape', '.2f', 100)} / {_pm(mean, 'acc10', '.1f', 100)}"])
    return "\n".join(_md(["labels", "platform", "method", "test models", "vs stored label: MAPE / Acc10",
                           "vs mean of re-measurements: MAPE / Acc10"], rows, left=3)
                      + ["", f"MAPE / Acc(10%) in %, average over families, mean ± std over {_runs(recs)} (remeasure: "
                         "one). " + _provenance(recs)])


def profiling_cost_table() -> str:
    """What one measurement costs per platform: the wall clock split into the model's runs and the rest."""
    recs = [r for r in _load("profiling_cost") if r.get("family") == "all"]
    if not recs:
        return _missing("profiling_cost.py")
    rows = [[f"`{r['setting']}`", r["n_models"], f"{r['median_ms_mean']:.1f}", f"{r['wall_seconds_mean']:.2f}",
             f"{r['overhead_seconds_mean']:.2f} / {r['overhead_seconds_max']:.2f}", f"{r['rounds_mean']:.2f}",
             f"{100 * r['within_goal_fraction']:.0f} %"] for r in recs]
    return "\n".join(_md(["platform", "models", "median latency ms (mean)", "wall s per model (mean)",
                           "overhead s (mean / max)", "rounds (mean)", "within 1 s + 20 runs"], rows)
                      + ["", _provenance(recs)])


def search_table() -> str:
    """Accuracy of the architecture each strategy/objective finds under a parameter budget."""
    recs = _load("search")
    if not recs:
        return _missing("search.py --data-dir ../shared/data")
    rows = [[r["dataset"], r["method"], r["variant"], r["protocol"], r.get("draws", len(r["seeds"])),
             _pm(r, "accuracy", ".2f") or "–", _pm(r, "regret", ".2f") or "–", _pm(r, "seconds", ".3f")]
            for r in recs]
    notes = [f"{r['dataset']}: {r['note']} (params {_pm(r, 'params', ',.0f')})." for r in recs
             if r.get("note") and r.get("target") == "none"]
    judged = {(r["dataset"], r["budget_params"]): r for r in recs if r.get("recipe_digest") and r["method"] == "random"}
    notes += [f"{d} ({r['target']}, budget {budget:,.0f} params): the ViT each proxy-driven run finds is trained with "
              f"the ground truth's recipe {r['recipe_digest']}; a random row q<k> is the best of k ViTs of the ground "
              f"truth under the budget ({r['ground_truth_in_budget']} there: mean {r['mean_in_ground_truth']:.2f} %, "
              f"best {r['best_in_ground_truth']:.2f} %) over {r.get('draws', len(r['seeds']))} draws, its seconds their "
              "training time; a proxy row's seconds are its search alone, the found ViT's training adds "
              f"{_mean_of(recs, d, budget, 'train_seconds_mean'):.0f} s on average." for (d, budget), r in judged.items()]
    cols = ["dataset", "strategy", "objective", "protocol", "runs", "accuracy (%)", "regret", "seconds / run"]
    return "\n".join(_md(cols, rows, left=4) + [""] + notes + [_provenance(recs)])


def _mean_of(recs: list[dict], dataset: str, budget: float, key: str) -> float:
    values = [r[key] for r in recs if r["dataset"] == dataset and r["budget_params"] == budget and key in r]
    return sum(values) / len(values) if values else float("nan")


def _encoder_label(r: dict) -> str:
    """A pretraining record's encoder; its model variant is part of what it is ("gin (fgp)")."""
    return _label({"method": r["encoder"], "variant": r.get("model_variant", "default")})


def pretraining_table() -> str:
    """Kendall tau (P@1 %) of an encoder fine-tuned from each pre-training, per training ratio of the pool."""
    recs = _load("pretraining")
    if not recs:
        return _missing("pretraining.py --data-dir ../shared/data")
    ratios = sorted({r["ratio"] for r in recs})
    rows = []
    def cell(r: dict) -> tuple:
        return r["dataset"], _encoder_label(r), r["pretrain"], r["pretrain_epochs"]

    for key in dict.fromkeys(map(cell, recs)):
        by_ratio = {r["ratio"]: r for r in recs if cell(r) == key}
        first = next(iter(by_ratio.values()))
        rows.append([*key[:3], f"{first['pool_size']:,}", key[3] or "–", f"{first['pretrain_seconds']:.0f}"]
                    + [f"{_pm(by_ratio[q])} ({_pm(by_ratio[q], 'precision_at_1pct', '.2f')})" if q in by_ratio else ""
                       for q in ratios])
    return "\n".join(_md(["dataset", "encoder", "pre-training", "pool", "epochs", "pre-train s"]
                         + [f"{q:.0%} of the pool" for q in ratios], rows, left=3)
                     + ["", f"Mean ± std over {_runs(recs)} (permutation seeds "
                        f"{', '.join(sorted({','.join(map(str, r['seeds'])) for r in recs}))} × training seeds "
                        f"{', '.join(sorted({','.join(map(str, r['model_seeds'])) for r in recs}))}). "
                        + _provenance(recs)])


def _gain(a: dict, b: dict, metric: str) -> tuple[float, float, bool]:
    """Mean of ``a`` minus mean of ``b`` in ``metric``, the standard error of that difference and
    whether it is paired: run by run when both cells store their runs (``<metric>_runs``) on the
    same seeds (the sample std of the differences / √runs), else unpaired (both stds / √runs)."""
    runs_a, runs_b = a.get(f"{metric}_runs"), b.get(f"{metric}_runs")
    if (runs_a and runs_b and len(runs_a) == len(runs_b) > 1
            and (a["seeds"], a.get("model_seeds")) == (b["seeds"], b.get("model_seeds"))):
        diffs = [x - y for x, y in zip(runs_a, runs_b)]
        mean = sum(diffs) / len(diffs)
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
        return mean, sd / math.sqrt(len(diffs)), True
    se = math.sqrt(a[f"{metric}_std"] ** 2 / a["runs"] + b[f"{metric}_std"] ** 2 / b["runs"])
    return a[f"{metric}_mean"] - b[f"{metric}_mean"], se, False


FLOWS = ("fgp", "fgp-std")


def _flow_verdicts(recs: list[dict]) -> tuple[list[list], dict[str, list[str]]]:
    """Rows (dataset, encoder, epochs, then per flow pretext its gains over none / autoencoder in
    tau and P@1 % and a verdict) of the pre-training records of one ratio, and the verdicts per
    flow: 'yes' where all four gains exceed twice their standard error, 'within noise' where they
    are all positive but not so, else 'no'."""
    by = {(r["dataset"], _encoder_label(r), r["pretrain"], r["pretrain_epochs"]): r for r in recs}
    rows, verdicts = [], {f: [] for f in FLOWS}
    # one row per pre-training length; the autoencoder is compared at the same length as the flows
    cells = list(dict.fromkeys((d, e, n) for d, e, p, n in by if p in FLOWS))
    # grouped by pre-training length, then encoder, then dataset
    for dataset, encoder, epochs in sorted(cells, key=lambda c: (c[2], c[1], c[0])):
        base = [by.get((dataset, encoder, "none", None)), by.get((dataset, encoder, "autoencoder", epochs))]
        if None in base:
            continue
        row = [dataset, encoder, epochs]
        for flow in FLOWS:
            r = by.get((dataset, encoder, flow, epochs))
            if r is None:
                row += ["", "", ""]
                continue
            gains = {m: [_gain(r, b, m) for b in base] for m in ("kendall_tau", "precision_at_1pct")}
            row += [" / ".join(f"{d:+.3f} ± {se:.3f}{'*' if paired else ''}" for d, se, paired in gains[m])
                    for m in gains]
            flat = [g for m in gains for g in gains[m]]
            verdict = ("yes" if all(d > 2 * se for d, se, _ in flat) else
                       "within noise" if all(d > 0 for d, _, _ in flat) else "no")
            verdicts[flow].append(verdict)
            row.append(verdict)
        rows.append(row)
    return rows, verdicts


def _verdict_counts(verdicts: dict[str, list[str]]) -> str:
    """One sentence per flow pretext: how many cells it beats both baselines in, and how many are within noise."""
    return "; ".join(f"`{f}` beats both in {v.count('yes')} of {len(v)} (all gains positive but within noise in "
                     f"{v.count('within noise')})" for f, v in verdicts.items())


def pretraining_goal_table(ratio: float = 0.01) -> str:
    """Issue 4's goal at ``ratio``: what each flow pretext gains over no pre-training and over the
    autoencoder in Kendall tau and P@1 %, with the standard error of each gain (:func:`_flow_verdicts`),
    and the same verdicts counted at the other ratios measured."""
    every = _load("pretraining")
    recs = [r for r in every if r["ratio"] == ratio]
    if not recs:
        return _missing(f"pretraining.py --data-dir ../shared/data --ratios {ratio}")
    rows, verdicts = _flow_verdicts(recs)
    others = [f"at {q:.0%}: {_verdict_counts(_flow_verdicts([r for r in every if r['ratio'] == q])[1])}"
              for q in sorted({r["ratio"] for r in every} - {ratio})]
    return "\n".join(_md(["dataset", "encoder", "pre-training epochs"] + [f"{f} {c}" for f in FLOWS for c in (
        "Δ tau vs none / autoencoder", "Δ P@1 % vs none / autoencoder", "beats both")], rows, left=2)
        + ["", f"At {ratio:.0%} of the pool: {_verdict_counts(verdicts)}. "
           + (f"The same test at the other ratios, {'; '.join(others)}. " if others else "")
           + "Gains are differences of the 9-run means ± their standard "
           "error: * paired run by run (same permutation and training seeds; the std of the 9 differences / √9) "
           "where both cells store their runs, else unpaired (each side's std / √runs). " + _provenance(recs)])


def proxies_table() -> str:
    """Rank correlation of each proxy with the ground truth: NB201 CIFAR-10 and the ViTs trained here."""
    recs = [r for r in _load("proxies") if r.get("target") != "suite-zero"]
    if not recs:
        return _missing("proxies.py --data-dir ../shared/data")
    zc = {r["method"]: r for r in _load("proxies") if r.get("target") == "suite-zero"}
    datasets = list(dict.fromkeys(r["dataset"] for r in recs))
    shown = [r for r in recs if r["variant"] in ("default", "cond")]
    rows = []
    for method in dict.fromkeys(r["method"] for r in shown):
        by = {r["dataset"]: r for r in shown if r["method"] == method}
        cells = []
        for d in datasets:
            r = by.get(d)
            ci = f" [{r['spearman_ci95'][0]:.2f}, {r['spearman_ci95'][1]:.2f}]" if r and "spearman_ci95" in r else ""
            cells += [f"{r['spearman_mean']:.3f}{ci} / {r['kendall_tau_mean']:.3f} (n={r['n_archs']:,})" if r else "",
                      f"{r['seconds_per_arch']:.2f}" if r else ""]
        z = zc.get(method)
        rows.append([method, *cells, f"{z['spearman_mean']:.3f} (n={z['n_archs']})" if z else "–",
                     str(by[datasets[0]].get("published_spearman", "–")) if datasets[0] in by else "–"])
    cols = ["proxy"] + [c for d in datasets for c in (f"{d}: Spearman / Kendall", f"{d}: s / arch")]
    cols += ["agreement with Suite-Zero (Spearman)", "published NB201 Spearman"]
    spectral = sorted({r["method"] for r in recs if r["variant"] != "default"})
    note = (f"NTK-family rows ({', '.join(spectral)}) show the condition number, oriented so that higher predicts "
            "better; the other spectral statistics are in the JSON. " if spectral else "")
    if any("spearman_ci95" in r for r in shown):
        note += "In brackets: the bootstrap 95 % interval of the Spearman over the architectures. "
    versus = [f"{r['method']} on {r['dataset']} {r['spearman_minus_ntk']:+.3f} "
              f"[{r['spearman_minus_ntk_ci95'][0]:+.3f}, {r['spearman_minus_ntk_ci95'][1]:+.3f}]"
              for r in shown if "spearman_minus_ntk" in r]
    if versus:
        note += ("ViNTK minus the NTK of the same weights, Spearman, with the paired-bootstrap 95 % interval over "
                 "the architectures: " + "; ".join(versus) + ". ")
    return "\n".join(_md(cols, rows) + ["", note + f"Seeds {sorted({s for r in recs for s in r['seeds']})}. "
                                        + _provenance(recs)])


def _train_cells(r: dict) -> str:
    """The training cells of a generation record, and the code LM's when it saw fewer."""
    lm = r.get("lm_train_size", r["train_size"])
    return f"{r['train_size']:,}" + (f" (LM {lm:,})" if lm != r["train_size"] else "")


def generation_table() -> str:
    """Validity, uniqueness and novelty of generated architectures, and the VQ-VAE's reconstruction."""
    recs = _load("generation")
    if not recs:
        return _missing("generation.py")
    recon = sorted((r for r in recs if r["method"] == "vqvae"), key=lambda r: (r["space"], r["variant"]))
    gen = sorted((r for r in recs if r["method"] in ("arch-llm", "vae")),
                 key=lambda r: (r["space"], r["method"], -r.get("lm_train_size", r["train_size"]), r["variant"],
                                r["temperature"]))
    enum = [r for r in recs if r["method"] == "enumeration"]
    lines = []
    if recon or gen:
        rows = [[r["space"], _label(r), "–", f"{r['train_size']:,}", "–", f"{r['reconstruction']:.4f}", "", "", "", "",
                 ""] for r in recon]
        rows += [[r["space"], _label(r), f"{r['temperature']:g}", _train_cells(r), f"{r['n_samples']:,}",
                  f"{r['reconstruction']:.4f}" if "reconstruction" in r else "",
                  *(_pm(r, m, spread=len(r["seeds"]) > 1)  # a std over one sampling seed is no spread
                    for m in ("validity", "uniqueness", "novelty", "abs_uniqueness", "abs_novelty"))]
                 for r in gen]
        lines = _md(["space", "method", "T", "train cells", "samples", "reconstruction (held out)", "validity",
                     "uniqueness", "novelty", "abs. uniqueness", "abs. novelty"], rows, left=2)
    if enum:
        lines += ["", f"NB101 enumeration: {enum[0]['n_unique_cells']:,} unique cells (official "
                  f"{enum[0]['official_count']:,})."]
    return "\n".join(lines + ["", f"Mean ± std over the sampling seeds ({_runs(gen or recs, word='seed')}); one "
                              "training seed. " + _provenance(recs)])


TABLES = {"accuracy_prediction": accuracy_table, "published_nb201": published_table,
          "ablations": ablation_table, "data_loading": loading_table, "lap_tokenizer": lap_table,
          "flow_surrogate": flow_table, "enumeration": enumeration_table, "latency_prediction": latency_table,
          "latency_zoo": latency_zoo_table, "latency_goal": latency_goal_table,
          "latency_learning_curve": latency_learning_curve_table,
          "latency_passes": latency_passes_table,
          "latency_error": latency_error_table, "latency_platforms": latency_platforms_table,
          "latency_machines": latency_machines_table,
          "profiling_cost": profiling_cost_table, "zoo_dataset": zoo_dataset_table,
          "latency_retest": latency_retest_table, "latency_label_noise": latency_label_noise_table,
          "search": search_table, "pretraining": pretraining_table, "pretraining_goal": pretraining_goal_table,
          "proxies": proxies_table,
          "generation": generation_table}


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
