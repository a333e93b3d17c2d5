"""Training-free search -> benchmarks/results/search.json (task ``search``).

**NB201** (CIFAR-10, official test accuracy through ``archrep.data.load("nb201")``): for each of
``--runs`` seeds, under a parameter budget (``--budget-params``, default 1.0e6 of NB201's
0.07-1.53 M), with ``--queries`` queries per run:

* ``evolution`` driven by a proxy (``--proxies``, default ``synflow``; ``ntk`` and ``vintk`` are
  slower, add them by name), scored on real images (``--inputs``, default the 20 CIFAR-10 test
  images of foolbox) on the net initialised from the run's seed; evolution selects on the
  proxy, and the benchmark accuracy of the arch it ends with (its best by proxy) is reported;
* ``evolution`` driven by the accuracy itself (the oracle: each query stands for training a net);
* ``random`` search judged by the accuracy (the usual baseline).

Per (strategy, objective): ``accuracy_mean/std`` of the found arch over runs, ``regret`` to the
best accuracy reachable under the budget, ``queries``, unique archs scored, ``seconds`` (wall
clock of a run: proxy scoring dominates; oracle lookups cost ~0 here), and the mean best-so-far
accuracy curve (``curve_accuracy``, one value per query: the accuracy of the arch the search
would return after that many queries). A PNG of the curves when matplotlib is installed.

**vit-tiny** (no trained ground truth yet): proxy-driven evolution only (``--vit-runs`` runs,
``--vit-queries`` queries, budget ``--vit-budget-params``); each record lists the found
architectures, their params and proxy scores.

    python benchmarks/search.py --data-dir ../shared/data                       # 10 runs x 100 queries
    python benchmarks/search.py --runs 2 --queries 20 --vit-runs 1 --vit-queries 8   # smoke run
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archrep import data, proxies, spaces
from archrep.proxies.inputs import load_images
from archrep.results import make_record, mean_std, write_records
from archrep.search import OracleObjective, ProxyObjective, arch_params, run_search
from archrep.spaces.nb201_cost import nb201_cost_table

RESULTS = Path(__file__).resolve().parent / "results"


def nb201_runs(args, images, results: Path) -> list[dict]:
    space = spaces.get("nb201")
    ds = data.load("nb201", data_dir=args.data_dir)
    acc = dict(zip(ds.keys.tolist(), map(float, ds.target("cifar10").tolist())))
    # best accuracy reachable under the budget (over the cells the dataset has)
    params = nb201_cost_table()["params"] * 1e6
    keys = [space.key(a) for a in space.enumerate()]
    under = [acc[k] for k, p in zip(keys, params) if p <= args.budget_params and k in acc]
    best_reachable = max(under)
    print(f"nb201: {len(under)} cells under {args.budget_params:,.0f} params; best accuracy {best_reachable:.2f}")
    settings = [("evolution", p) for p in args.proxies] + [("evolution", "accuracy"), ("random", "accuracy")]
    records, curves = [], {}
    for strategy, objective in settings:
        found, secs, uniq, scored, curve_runs, archs = [], [], [], [], [], []
        for seed in range(args.runs):
            if objective == "accuracy":
                obj = OracleObjective(space, acc, name="nb201:cifar10")
            else:
                obj = ProxyObjective(space, objective, images, seed=seed, device=args.device)
            kw = dict(population=args.population, sample_size=args.sample_size) if strategy == "evolution" else {}
            r = run_search(strategy, space, obj, queries=args.queries, seed=seed,
                           budget_params=args.budget_params, **kw)
            curve = [acc[h["best_arch"]] for h in r.history]
            found.append(curve[-1])
            secs.append(r.seconds)
            uniq.append(r.n_unique)
            scored.append(obj.n_evaluated)
            curve_runs.append(curve)
            archs.append(r.best_arch)
            print(f"  {strategy:9s} {objective:9s} seed {seed}: accuracy {curve[-1]:.2f}, {r.n_unique} unique archs, "
                  f"{r.seconds:.1f} s", flush=True)
        mean_curve = np.mean(curve_runs, axis=0)
        curves[f"{strategy} ({objective})"] = mean_curve
        records.append(make_record(
            "search", dataset="nb201", target="cifar10", protocol=f"budget{args.budget_params:g}-q{args.queries}",
            method=strategy, variant=objective, seeds=list(range(args.runs)), queries=args.queries,
            budget_params=args.budget_params, **mean_std(found, "accuracy"),
            **mean_std([best_reachable - a for a in found], "regret"), best_reachable_accuracy=best_reachable,
            **mean_std(secs, "seconds"), unique_archs_mean=float(np.mean(uniq)),
            objective_evaluations_mean=float(np.mean(scored)), found_archs=archs,
            curve_accuracy=[round(float(v), 4) for v in mean_curve],
            inputs=(f"{images.source}:{len(images.x)}" if objective != "accuracy" else None),
            population=args.population if strategy == "evolution" else None,
            sample_size=args.sample_size if strategy == "evolution" else None))
    plot(curves, best_reachable, results / "search_nb201.png", args)
    return records


def vit_runs(args, images) -> list[dict]:
    records = []
    for space_name in ("vit-tiny",):
        space = spaces.get(space_name)
        for proxy in args.vit_proxies:
            found, secs = [], []
            for seed in range(args.vit_runs):
                obj = ProxyObjective(space, proxy, images, seed=seed, device=args.device)
                r = run_search("evolution", space, obj, queries=args.vit_queries, seed=seed,
                               budget_params=args.vit_budget_params, population=min(args.population, args.vit_queries),
                               sample_size=min(args.sample_size, args.population, args.vit_queries))
                found.append({"arch": r.best_arch, "params": arch_params(space, r.best_arch),
                              "proxy_score": obj.raw(r.best_arch)})
                secs.append(r.seconds)
                print(f"  vit-tiny evolution {proxy} seed {seed}: {r.best_arch} ({found[-1]['params']:,} params), "
                      f"{r.seconds:.1f} s", flush=True)
            records.append(make_record(
                "search", dataset=space_name, target="none", protocol=f"budget{args.vit_budget_params:g}-q{args.vit_queries}",
                method="evolution", variant=proxy, seeds=list(range(args.vit_runs)), queries=args.vit_queries,
                budget_params=args.vit_budget_params, found=found, **mean_std(secs, "seconds"),
                **mean_std([f["params"] for f in found], "params"), inputs=f"{images.source}:{len(images.x)}",
                note="no ViT ground truth yet: proxies only, found architectures reported"))
    return records


def plot(curves: dict, best: float, path: Path, args) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, c in curves.items():
        ax.plot(np.arange(1, len(c) + 1), c, label=label)
    ax.axhline(best, color="grey", ls="--", lw=0.8, label="best under budget")
    ax.set_xlabel("queries")
    ax.set_ylabel("CIFAR-10 test accuracy of best-so-far (%)")
    ax.set_title(f"NB201, budget {args.budget_params:,.0f} params, {args.runs} runs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"),
                    help="benchmark data folder (needs nb201/); default $ARCHREP_DATA_DIR")
    ap.add_argument("--runs", type=int, default=10, help="NB201 runs (seeds 0..N-1), default 10")
    ap.add_argument("--queries", type=int, default=100, help="queries per NB201 run (default 100)")
    ap.add_argument("--budget-params", type=float, default=1.0e6, help="NB201 parameter budget (default 1e6)")
    ap.add_argument("--proxies", default="synflow", help="comma-separated proxies driving evolution (ntk, vintk: slow)")
    ap.add_argument("--population", type=int, default=20)
    ap.add_argument("--sample-size", type=int, default=5)
    ap.add_argument("--vit-runs", type=int, default=3, help="vit-tiny runs (0: skip)")
    ap.add_argument("--vit-queries", type=int, default=50)
    ap.add_argument("--vit-budget-params", type=float, default=5.0e5, help="vit-tiny budget (its nets: 0.17-1.21 M)")
    ap.add_argument("--vit-proxies", default="synflow", help="comma-separated proxies for vit-tiny")
    ap.add_argument("--inputs", default="cifar10", help="image source (archrep.proxies.inputs), default cifar10")
    ap.add_argument("--batch", type=int, default=20, help="images per proxy batch (default 20)")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if not args.data_dir:
        ap.error("set --data-dir or ARCHREP_DATA_DIR to the benchmark data folder (../shared/data)")
    torch.set_num_threads(args.threads)
    args.proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    args.vit_proxies = [p.strip() for p in args.vit_proxies.split(",") if p.strip()]
    for p in args.proxies + args.vit_proxies:
        proxies.get(p)  # unknown names fail here, listing the valid ones
    images = load_images(args.inputs, args.batch)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    records = nb201_runs(args, images, results)
    if args.vit_runs > 0:
        records += vit_runs(args, images)
    write_records(results / "search.json", records)
    for r in records:
        acc = f"accuracy {r['accuracy_mean']:.2f} ± {r['accuracy_std']:.2f}" if "accuracy_mean" in r else "proxies only"
        print(f"{r['dataset']:8s} {r['method']:9s} {r['variant']:9s} {acc}, {r['seconds_mean']:.1f} s/run")
    print(f"wrote {results / 'search.json'} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
