"""Where the zoo latency predictors err: in-domain MAPE by the test model's measured latency
-> benchmarks/results/latency_error_analysis.json (+ latency_error_by_size.png).

The same in-domain protocol, split and fits as ``latency_prediction.py`` (a seeded 10 % of every
family held out, ``--train-per-family`` cap, its ``zoo_predict``), but the test models' errors are
grouped by their measured latency (bins ``--edges`` in ms) instead of by family: does a predictor
miss small networks (fixed per-run and per-op overheads) or large ones? Records (task
``latency_error_analysis``): ``dataset``, ``protocol`` "in-domain", ``method``, ``variant``,
``target``, ``setting`` (platform id), ``platform`` (its text), ``train_size``, ``train_per_family``,
``latency_bin`` ("1-5 ms"),
``bin_low_ms`` / ``bin_high_ms``, ``runs``, ``seeds``, ``test_size`` (test models in the bin per
seed, mean), ``mape_mean/_std`` and ``median_ape_mean/_std`` over seeds (a seed whose test set has
no model in the bin is left out of that bin's runs).

    python benchmarks/latency_error_analysis.py                       # flops-macs-linear, kernel-additive, 5 seeds
    python benchmarks/latency_error_analysis.py --methods gin,ledg --zoo-variants default,additive \
        --platforms ort-cpu-fp32-t1@9f37cca7
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import latency_prediction as lp  # noqa: E402  benchmarks/latency_prediction.py, beside this script
from plotting import pyplot  # noqa: E402

from archrep.data import splits, zoo_latency  # noqa: E402
from archrep.latency.platform import Platform  # noqa: E402
from archrep.results import make_record, read_records, write_records  # noqa: E402

TASK = "latency_error_analysis"
DEFAULT_METHODS = ("flops-macs-linear", "kernel-additive")


def bin_label(low: float, high: float) -> str:
    return f"< {high:g} ms" if low == 0 else (f">= {low:g} ms" if np.isinf(high) else f"{low:g}-{high:g} ms")


def seed_errors(ds, method: str, hp: dict, targets: list[str], seed: int, args) -> tuple[dict[str, tuple], int]:
    """{target: (measured latency, absolute percentage error)} of one seed's in-domain test models,
    and the size of its training set."""
    groups = zoo_latency.row_families(ds)
    split = splits.create("in-domain", groups=groups, train_per_family=args.train_per_family or None, seed=seed,
                          test_fraction=args.test_fraction).split(len(ds))
    test = ds.subset(split.test)
    pred = lp.zoo_predict(method, hp, ds.subset(split.train), test, targets, seed, args.device)
    out = {}
    for t, p in pred.items():
        y = test.targets[t]
        keep = ~np.isnan(y)
        out[t] = (y[keep], np.abs(p[keep] - y[keep]) / y[keep])
    return out, len(split.train)


def records(ds, method: str, variant: str, hp: dict, per_seed: list[dict], seeds: list[int], edges: list[float],
            train_size: int, args) -> list[dict]:
    recs = []
    bounds = list(zip([0.0, *edges], [*edges, np.inf]))
    for t in per_seed[0]:
        setting = ds.meta["settings"][t]
        text = Platform.from_dict(ds.meta["platforms"][setting]).template()
        for low, high in bounds:
            runs, sizes = [], []
            for errors in per_seed:
                y, ape = errors[t]
                k = (y >= low) & (y < high)
                if k.any():
                    runs.append({"mape": float(ape[k].mean()), "median_ape": float(np.median(ape[k]))})
                    sizes.append(int(k.sum()))
            if not runs:
                continue
            stats = {f"{m}_{s}": float(f(np.array([r[m] for r in runs]))) for m in ("mape", "median_ape")
                     for s, f in (("mean", np.mean), ("std", np.std))}
            recs.append(make_record(
                TASK, dataset=ds.name, protocol="in-domain", method=method, variant=variant, target=t,
                setting=setting, platform=text, train_size=train_size, train_per_family=args.train_per_family,
                latency_bin=bin_label(low, high), bin_low_ms=low,
                bin_high_ms=None if np.isinf(high) else high, runs=len(runs), seeds=seeds,
                test_size=float(np.mean(sizes)), hyperparameters=hp, **lp.passes_field(ds, t), **stats))
    return recs


def _label(r: dict) -> str:
    return r["method"] + ("" if r["variant"] == "default" else f" ({r['variant']})")


def plot(recs: list[dict], out: Path) -> None:
    plt = pyplot()
    if plt is None or not recs:
        return
    settings = list(dict.fromkeys(r["setting"] for r in recs))
    labels = list(dict.fromkeys(_label(r) for r in recs))  # one colour per method in every panel
    cols = min(4, len(settings))
    rows = -(-len(settings) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.2 * rows), squeeze=False, sharey=True)
    for ax in axes.flat[len(settings):]:
        ax.axis("off")
    for ax, setting in zip(axes.flat, settings):
        panel = [r for r in recs if r["setting"] == setting]
        bins = sorted({(r["bin_low_ms"], r["latency_bin"]) for r in panel})
        x = {b: j for j, (_, b) in enumerate(bins)}
        for i, label in enumerate(labels):
            rs = sorted((r for r in panel if _label(r) == label), key=lambda r: r["bin_low_ms"])
            if rs:
                ax.errorbar([x[r["latency_bin"]] for r in rs], [100 * r["mape_mean"] for r in rs],
                            yerr=[100 * r["mape_std"] for r in rs], marker="o", capsize=3, label=label,
                            color=f"C{i % 10}")
        ax.set_xticks(range(len(bins)), [b for _, b in bins], rotation=30, fontsize=7)
        ax.set_title(setting, fontsize=8)
        ax.set_yscale("log")
    for ax in axes[:, 0]:
        ax.set_ylabel("in-domain MAPE % (log)")
    handles = {h.get_label(): h for ax in axes.flat for h in ax.get_legend_handles_labels()[0]}
    fig.legend([handles[k] for k in labels if k in handles], [k for k in labels if k in handles], fontsize=8,
               loc="upper center", ncol=min(4, len(labels)))
    fig.supxlabel("measured latency of the test model", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo-file", help="an 'archrep latency-dataset export' file (default: the package file)")
    lp.add_label_option(ap)
    ap.add_argument("--families", help="comma-separated families (default: all in the file)")
    ap.add_argument("--platforms", help="comma-separated platform ids or latency targets (default: all in the file)")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help=f"comma-separated zoo methods, of {', '.join(lp.ZOO_METHODS)} (default: {','.join(DEFAULT_METHODS)})")
    ap.add_argument("--zoo-variants", default="default",
                    help=f"comma-separated variants of the methods, of {', '.join(lp.ZOO_VARIANTS)} (each applies to "
                         "the methods latency_prediction.py applies it to; default: default)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    ap.add_argument("--train-per-family", type=int, default=100, help="cap on training models per family (0 = all)")
    ap.add_argument("--test-fraction", type=float, default=0.1, help="in-domain test share per family (default 0.1)")
    ap.add_argument("--edges", default="1,5,20,100", help="latency bin edges in ms (default 1,5,20,100)")
    ap.add_argument("--device", default="cpu", help="where gin, tart and ledg train")
    ap.add_argument("--results", default=str(lp.RESULTS), help="folder for the JSON results and the plot")
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in lp.ZOO_METHODS]
    if bad or not methods:
        ap.error(f"--methods {args.methods}: valid methods are {', '.join(lp.ZOO_METHODS)}")
    try:
        edges = sorted(float(e) for e in args.edges.split(",") if e.strip())
    except ValueError:
        ap.error(f"--edges {args.edges!r}: give comma-separated numbers of ms, e.g. 1,5,20,100")
    if not edges or edges[0] <= 0:
        ap.error(f"--edges {args.edges!r}: give positive bin edges in ms")
    args.zoo_variants = [v.strip() for v in args.zoo_variants.split(",") if v.strip()]
    if not args.zoo_variants or set(args.zoo_variants) - set(lp.ZOO_VARIANTS):
        ap.error(f"--zoo-variants {','.join(args.zoo_variants)}: valid variants are {', '.join(lp.ZOO_VARIANTS)}")
    ds = lp.load_zoo(args, ap)
    seeds = list(range(args.seeds))
    path = Path(args.results) / f"{TASK}.json"
    for method, variant in [(m, v) for m in methods for v in lp.variants_of(m, args)]:
        hp = {**lp.ZOO_METHODS[method], **lp.variant_hp(method, variant),
              **({"size_buckets": True} if method in lp.ZOO_TORCH else {})}
        per_seed, sizes = zip(*[seed_errors(ds, method, hp, args.zoo_targets, seed, args) for seed in seeds])
        new = records(ds, method, variant, hp, list(per_seed), seeds, edges, sizes[0], args)
        write_records(path, new)
        for r in new:
            print(f"{r['setting']:28s} {method + '/' + variant:26s} {r['latency_bin']:>10s}  n {r['test_size']:5.1f}  "
                  f"MAPE {100 * r['mape_mean']:6.2f} ± {100 * r['mape_std']:5.2f} %", flush=True)
    plot(read_records(path), Path(args.results) / "latency_error_by_size.png")  # every method in the file
    return 0


if __name__ == "__main__":
    sys.exit(main())
