"""How much of a latency predictor's error is the label's -> benchmarks/results/latency_label_noise.json.

``latency_retest.py`` measured some zoo models again, several rounds apart
(``latency_retest_measurements.jsonl``). Here each predictor is trained, as in the in-domain
protocol of ``latency_prediction.py`` (its ``zoo_predict``, up to ``--train-per-family`` seeded
models per family), on the zoo models that were not measured again, and tested on those that
were, against two labels:

* ``stored``: the dataset's label, one measurement (``--zoo-label``: its median or fastest run);
* ``retest-mean``: the mean of the re-measurements, a label with less of the machine's noise.

Method ``remeasure`` is the yardstick: the first re-measurement used as the prediction, scored
against the stored label and against the mean of the other re-measurements: what measuring again
would score, the error floor any predictor meets on single-measurement labels.

Records (task ``latency_label_noise``): ``dataset``, ``protocol`` (the test label: ``stored`` or
``retest-mean``), ``method``, ``variant``,
``family`` ("all": per run the mean over families, as ``latency_prediction.py``), ``target``,
``setting`` (platform id), ``platform``, ``runs``, ``seeds``, ``test_size`` (models),
``train_per_family``, ``mape_mean/_std``, ``acc10_mean/_std``, ``mape_best``.

    python benchmarks/latency_label_noise.py                        # flops-macs-linear, kernel-additive
    python benchmarks/latency_label_noise.py --methods ledg --zoo-variants residual \\
        --platforms ort-cpu-fp32-t1@b91ad0e6,torch-cpu-fp32-t1@3510267a
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import latency_prediction as lp  # noqa: E402  benchmarks/latency_prediction.py, beside this script
import latency_retest as rt  # noqa: E402

from archrep.data import zoo_latency  # noqa: E402
from archrep.latency.platform import Platform  # noqa: E402
from archrep.train.metrics import acc10, mape  # noqa: E402
from archrep.results import make_record, write_records  # noqa: E402

TASK = "latency_label_noise"
LABELS = ("stored", "retest-mean")


def retest_labels(lines: list[dict], ds, statistic: str) -> dict[str, dict[str, np.ndarray]]:
    """Per latency target: the dataset rows of the re-measured models (``rows``), their first
    re-measurement (``first``), the mean of the others (``others``) and of all (``retest-mean``)."""
    setting_of = {pid: t for t, pid in ds.meta["settings"].items()}
    column = zoo_latency.STATISTICS[statistic][0]
    index = {k: i for i, k in enumerate(ds.keys)}
    out: dict[str, dict[str, list]] = {}
    for line in lines:
        key = f"{line['graph_hash']}-b{line['config']['batch']}"
        target = setting_of.get(line["platform_id"])
        if target is None or key not in index or len(line["retest"]) < 2:
            continue
        values = np.array([m[column] for m in line["retest"]])
        cell = out.setdefault(target, {"rows": [], "first": [], "others": [], "retest-mean": []})
        cell["rows"].append(index[key])
        cell["first"].append(values[0])
        cell["others"].append(values[1:].mean())
        cell["retest-mean"].append(values.mean())
    return {t: {k: np.array(v) for k, v in cell.items()} for t, cell in out.items()}


def training_rows(ds, exclude: np.ndarray, targets: list[str], cap: int | None, seed: int) -> np.ndarray:
    """Up to ``cap`` seeded rows per family, of the rows measured on a target and not in ``exclude``."""
    fam = zoo_latency.row_families(ds)
    measured = np.any([~np.isnan(ds.targets[t]) for t in targets], axis=0)
    pool = np.setdiff1d(np.flatnonzero(measured), exclude)
    rng = np.random.default_rng(seed)
    rows = []
    for f in sorted(set(fam[pool].tolist())):
        mine = rng.permutation(pool[fam[pool] == f])
        rows.append(mine if cap is None else mine[:cap])
    return np.sort(np.concatenate(rows))


def scores(y: np.ndarray, p: np.ndarray, fam: np.ndarray) -> dict[str, dict[str, float]]:
    """MAPE / Acc(10%) per family and, as ``all``, their mean over families."""
    out = {f: {"mape": mape(y[fam == f], p[fam == f]), "acc10": acc10(y[fam == f], p[fam == f])}
           for f in sorted(set(fam.tolist()))}
    out["all"] = {k: float(np.mean([v[k] for v in out.values()])) for k in ("mape", "acc10")}
    return out


def records(ds, method: str, variant: str, runs: list[dict], seeds: list[int], labels: dict, cap) -> list[dict]:
    """One record per (target, label, family) from ``runs`` = [{(target, label): scores}] over seeds."""
    out, families = [], zoo_latency.row_families(ds)
    for (t, label) in runs[0]:
        setting = ds.meta["settings"][t]
        fam = families[labels[t]["rows"]]
        for family in runs[0][t, label]:
            m = np.array([r[t, label][family]["mape"] for r in runs])
            a = np.array([r[t, label][family]["acc10"] for r in runs])
            out.append(make_record(
                TASK, dataset=ds.name, protocol=label, method=method, variant=variant,
                family=family, target=t, setting=setting,
                platform=Platform.from_dict(ds.meta["platforms"][setting]).template(), runs=len(runs), seeds=seeds,
                test_size=int(len(fam) if family == "all" else (fam == family).sum()), train_per_family=cap,
                mape_mean=float(m.mean()), mape_std=float(m.std()), acc10_mean=float(a.mean()),
                acc10_std=float(a.std()), mape_best=float(m.min()), **lp.passes_field(ds, t)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measurements", default=str(lp.RESULTS / rt.MEASUREMENTS),
                    help="latency_retest.py's per-model file (default: the one in benchmarks/results)")
    ap.add_argument("--zoo-file", help="the export the retest re-measured (default: the package file)")
    lp.add_label_option(ap)
    ap.add_argument("--platforms", help="comma-separated platform ids or latency targets (default: every one "
                                        "the measurements file holds)")
    ap.add_argument("--methods", default="flops-macs-linear,kernel-additive",
                    help=f"comma-separated, of {', '.join(lp.ZOO_METHODS)} (default flops-macs-linear,kernel-additive)")
    ap.add_argument("--zoo-variants", default="default", help="comma-separated variants (as latency_prediction.py)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    ap.add_argument("--train-per-family", type=int, default=100, help="cap on training models per family (0 = all)")
    ap.add_argument("--device", default="cpu", help="where gin, tart and ledg train")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--results", default=str(lp.RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    lines = rt.read_measurements(Path(args.measurements))
    if not lines:
        ap.error(f"{args.measurements} holds no re-measurement: run benchmarks/latency_retest.py first")
    args.families = None
    args.platforms = args.platforms or ",".join(dict.fromkeys(line["platform_id"] for line in lines))
    ds = lp.load_zoo(args, ap)
    labels = retest_labels(lines, ds, args.zoo_label)
    targets = [t for t in args.zoo_targets if t in labels]
    if not targets:
        ap.error(f"none of the re-measured models is a row of {ds.name} on {args.platforms}: was the retest run "
                 "on this export (--zoo-file)?")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in lp.ZOO_METHODS]
    if bad:
        ap.error(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(lp.ZOO_METHODS)}")
    args.zoo_variants = [v.strip() for v in args.zoo_variants.split(",") if v.strip()]
    cap = args.train_per_family or None
    fam = zoo_latency.row_families(ds)
    stored = {t: ds.targets[t][labels[t]["rows"]] for t in targets}
    path = Path(args.results) / f"{TASK}.json"
    yardstick = {(t, "stored"): scores(stored[t], labels[t]["first"], fam[labels[t]["rows"]]) for t in targets}
    yardstick.update({(t, "retest-mean"): scores(labels[t]["others"], labels[t]["first"], fam[labels[t]["rows"]])
                      for t in targets})
    out = records(ds, "remeasure", "default", [yardstick], [], labels, cap)
    write_records(path, out)
    seeds = list(range(args.seeds))
    test_rows = np.unique(np.concatenate([labels[t]["rows"] for t in targets]))
    test = ds.subset(test_rows)
    where = {t: np.searchsorted(test_rows, labels[t]["rows"]) for t in targets}
    for method in methods:
        for variant in lp.variants_of(method, args):
            hp = {**lp.ZOO_METHODS[method], **lp.variant_hp(method, variant),
                  **({"size_buckets": True} if method in lp.ZOO_TORCH else {})}
            runs = []
            for seed in seeds:
                train = ds.subset(training_rows(ds, test_rows, targets, cap, seed))
                pred = lp.zoo_predict(method, hp, train, test, targets, seed, args.device)
                runs.append({(t, label): scores(stored[t] if label == "stored" else labels[t][label],
                                                pred[t][where[t]], fam[labels[t]["rows"]])
                             for t in targets for label in LABELS})
                print(f"{method} ({variant}) seed {seed}: " + "  ".join(
                    f"{t} {label} {100 * runs[-1][t, label]['all']['mape']:.2f} %" for t in targets for label in LABELS),
                    flush=True)
            new = records(ds, method, variant, runs, seeds, labels, cap)
            write_records(path, new)
            out += new
    for r in out:
        if r["family"] == "all":
            print(f"{r['setting']:28s} {r['method']:18s} {r['variant']:9s} vs {r['protocol']:11s} "
                  f"MAPE {100 * r['mape_mean']:5.2f} ± {100 * r['mape_std']:.2f} %  Acc10 {100 * r['acc10_mean']:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
