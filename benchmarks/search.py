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
would return after that many queries). A PNG of the curves when matplotlib is installed. Each
(strategy, objective) record is written as soon as its runs are done, and each finished run is
kept in ``results/.search.seeds.json`` until then: a killed benchmark resumes at its next run.

**NB201, Arch-LLM's fill mutation** (issue 7; ``--llm-runs`` runs, default 20, no parameter
budget, the accuracy as the oracle): ``random``, ``evolution`` and ``llm-fill`` (the same
regularised evolution with Arch-LLM's fill mutation, ``--llm-masked`` codes masked at
``--llm-temperature``; the model is :func:`archrep.generate.archllm.cached` for NB201, i.e. the
one ``benchmarks/generation.py`` trains, trained here if absent). Records ``protocol``
``oracle-q<queries>``; ``fallbacks_mean`` counts the mutations the LM could not make (the
space's own mutation stood in); the curves go to ``search_nb201_llm.png``.

**vit-tiny**, judged on ViTs trained here (``--vit-runs`` runs, default 10, ``--vit-queries``
queries, budget ``--vit-budget-params``): evolution driven by each of ``--vit-proxies`` on
Fashion-MNIST training images (``--vit-inputs``); the ViT a run ends with is trained with the
recipe of the ``vit-tiny-fashion`` ground truth (seed 0; reused when the ground truth or
``search_vit_trained.jsonl`` already holds it) and its test accuracy reported. Against it,
``random`` search judged by the accuracy at k = 1, 2, 5, 10, 20 and ``--vit-queries`` queries:
the best of k ViTs drawn without replacement from the ground truth under the budget (a uniform
sample of the space; 1,000 draws), whose cost is their training time. Records carry the ground
truth's mean and best under the budget.

    python benchmarks/search.py --data-dir ../shared/data                       # 10 runs x 100 queries
    python benchmarks/search.py --runs 2 --queries 20 --vit-runs 1 --vit-queries 8   # smoke run
    python benchmarks/search.py --runs 0 --vit-runs 0 --llm-runs 20                   # the Arch-LLM comparison only
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archrep import data, nets, proxies, spaces
from archrep.data.vit_ground_truth import ground_truth_path, read_lines
from archrep.proxies.inputs import load_images
from archrep.results import SeedCheckpoint, append_json_line, make_record, mean_std, write_records
from archrep.search import OracleObjective, ProxyObjective, arch_params, run_search
from archrep.spaces.nb201_cost import nb201_cost_table
from archrep.train.image_classification import ImageRecipe, recipe_data, train_and_test
from plotting import pyplot  # benchmarks/plotting.py, beside this script

RESULTS = Path(__file__).resolve().parent / "results"
#: draws of the ground-truth random search on vit-tiny (each: the best of k trained ViTs)
RANDOM_DRAWS = 1000


def nb201_accuracy(args) -> dict[str, float]:
    ds = data.load("nb201", data_dir=args.data_dir)
    return dict(zip(ds.keys.tolist(), map(float, ds.target("cifar10").tolist())))


def compare(settings, args, acc: dict, best_reachable: float, *, runs: int, budget: float | None, protocol: str,
            images=None, extra=None) -> tuple[list[dict], dict]:
    """Run every (strategy, objective) of ``settings`` ``runs`` times; records and mean curves."""
    space = spaces.get("nb201")
    results = Path(args.results)
    checkpoint = SeedCheckpoint(results / ".search.seeds.json")
    records, curves = [], {}
    for strategy, objective in settings:
        kw = dict(population=args.population, sample_size=args.sample_size) if strategy != "random" else {}
        cell = {"protocol": protocol, "strategy": strategy, "objective": objective, "budget": budget, **kw,
                "inputs": f"{images.source}:{len(images.x)}" if objective != "accuracy" else None,
                "extra": (extra or {}).get("record") if strategy == "llm-fill" else None}
        found, secs, uniq, scored, curve_runs, archs, fallbacks = [], [], [], [], [], [], []
        for seed in range(runs):
            run = checkpoint.get(cell, seed)
            if run is None:
                if objective == "accuracy":
                    obj = OracleObjective(space, acc, name="nb201:cifar10")
                else:
                    obj = ProxyObjective(space, objective, images, seed=seed, device=args.device)
                r = run_search(strategy, space, obj, queries=args.queries, seed=seed, budget_params=budget,
                               **kw, **((extra or {}).get(strategy, {})))
                run = {"curve": [acc[h["best_arch"]] for h in r.history], "seconds": r.seconds,
                       "unique": r.n_unique, "scored": obj.n_evaluated, "arch": r.best_arch,
                       "fallbacks": r.options.get("fallbacks", 0)}
                checkpoint.put(cell, seed, run)
            found.append(run["curve"][-1])
            secs.append(run["seconds"])
            uniq.append(run["unique"])
            scored.append(run["scored"])
            curve_runs.append(run["curve"])
            archs.append(run["arch"])
            fallbacks.append(run["fallbacks"])
            print(f"  {strategy:9s} {objective:9s} seed {seed}: accuracy {found[-1]:.2f}, {run['unique']} unique "
                  f"archs, {run['seconds']:.1f} s", flush=True)
        mean_curve = np.mean(curve_runs, axis=0)
        curves[f"{strategy} ({objective})"] = mean_curve
        records.append(make_record(
            "search", dataset="nb201", target="cifar10", protocol=protocol,
            method=strategy, variant=objective, seeds=list(range(runs)), queries=args.queries,
            budget_params=budget, **mean_std(found, "accuracy"),
            **mean_std([best_reachable - a for a in found], "regret"), best_reachable_accuracy=best_reachable,
            **mean_std(secs, "seconds"), unique_archs_mean=float(np.mean(uniq)),
            objective_evaluations_mean=float(np.mean(scored)), found_archs=archs,
            curve_accuracy=[round(float(v), 4) for v in mean_curve],
            inputs=(f"{images.source}:{len(images.x)}" if objective != "accuracy" else None),
            population=args.population if strategy != "random" else None,
            sample_size=args.sample_size if strategy != "random" else None,
            **({"fallbacks_mean": float(np.mean(fallbacks)), **(extra or {}).get("record", {})}
               if strategy == "llm-fill" else {})))
        write_records(results / "search.json", records[-1:])  # at once: a later crash keeps it
        checkpoint.drop(cell)
    return records, curves


def nb201_runs(args, images, results: Path) -> list[dict]:
    space = spaces.get("nb201")
    acc = nb201_accuracy(args)
    # best accuracy reachable under the budget (over the cells the dataset has)
    params = nb201_cost_table()["params"] * 1e6
    keys = [space.key(a) for a in space.enumerate()]
    under = [acc[k] for k, p in zip(keys, params) if p <= args.budget_params and k in acc]
    best_reachable = max(under)
    print(f"nb201: {len(under)} cells under {args.budget_params:,.0f} params; best accuracy {best_reachable:.2f}")
    settings = [("evolution", p) for p in args.proxies] + [("evolution", "accuracy"), ("random", "accuracy")]
    records, curves = compare(settings, args, acc, best_reachable, runs=args.runs, budget=args.budget_params,
                              protocol=f"budget{args.budget_params:g}-q{args.queries}", images=images)
    plot(curves, best_reachable, results / "search_nb201.png",
         f"NB201, budget {args.budget_params:,.0f} params, {args.runs} runs")
    return records


def llm_runs(args, results: Path) -> list[dict]:
    from archrep.generate.archllm import cached

    acc = nb201_accuracy(args)
    model = cached("nb201", device=args.device, verbose=True)
    extra = {"llm-fill": {"model": model, "masked": args.llm_masked, "temperature": args.llm_temperature},
             "record": {"masked": args.llm_masked, "temperature": args.llm_temperature,
                        "model_settings": model.meta.get("settings")}}
    settings = [("random", "accuracy"), ("evolution", "accuracy"), ("llm-fill", "accuracy")]
    best = max(acc.values())
    records, curves = compare(settings, args, acc, best, runs=args.llm_runs, budget=None,
                              protocol=f"oracle-q{args.queries}", extra=extra)
    plot(curves, best, results / "search_nb201_llm.png", f"NB201, accuracy as oracle, {args.llm_runs} runs")
    return records


def vit_runs(args, results: Path) -> list[dict]:
    """vit-tiny: proxy-driven evolution under a parameter budget, each run's found ViT trained with
    the ground truth's recipe; against random search over the ground-truth sample (module docstring)."""
    space = spaces.get("vit-tiny")
    images = load_images(args.vit_inputs, args.batch)
    gt = read_lines(ground_truth_path("vit-tiny-fashion"), "vit-tiny")
    gt = [r for r in gt if r["seed"] == 0]
    if not gt:
        raise SystemExit("vit-tiny: no ground truth (run benchmarks/vit_ground_truth.py first, or --vit-runs 0)")
    recipe = ImageRecipe(**gt[0]["recipe"])
    trainer = FoundViTs(results / "search_vit_trained.jsonl", space, recipe, gt, device=args.device)
    pool = [(r["test_accuracy"], r["seconds"]) for r in gt if arch_params(space, r["key"]) <= args.vit_budget_params]
    if not pool:
        raise SystemExit(f"vit-tiny: no ground-truth ViT under {args.vit_budget_params:,.0f} params")
    pool_acc = np.array([a for a, _ in pool])
    common = dict(dataset="vit-tiny", target="fashion-mnist", protocol=f"budget{args.vit_budget_params:g}-q{args.vit_queries}",
                  queries=args.vit_queries, budget_params=args.vit_budget_params, recipe_digest=recipe.digest(),
                  ground_truth_in_budget=len(pool), best_in_ground_truth=float(pool_acc.max()),
                  mean_in_ground_truth=float(pool_acc.mean()))
    print(f"vit-tiny: {len(pool)} of {len(gt)} ground-truth ViTs under {args.vit_budget_params:,.0f} params "
          f"(accuracy {pool_acc.mean():.2f} mean, {pool_acc.max():.2f} best)")
    records = []
    for proxy in args.vit_proxies:
        found, secs, train_secs, params = [], [], [], []
        for seed in range(args.vit_runs):
            obj = ProxyObjective(space, proxy, images, seed=seed, device=args.device)
            r = run_search("evolution", space, obj, queries=args.vit_queries, seed=seed,
                           budget_params=args.vit_budget_params, population=min(args.population, args.vit_queries),
                           sample_size=min(args.sample_size, args.population, args.vit_queries))
            acc, t = trainer.accuracy(r.best_arch)
            found.append({"arch": r.best_arch, "params": arch_params(space, r.best_arch),
                          "proxy_score": obj.raw(r.best_arch), "test_accuracy": acc})
            secs.append(r.seconds)
            train_secs.append(t)
            params.append(found[-1]["params"])
            print(f"  vit-tiny evolution {proxy} seed {seed}: {r.best_arch} ({params[-1]:,} params), "
                  f"accuracy {acc:.2f}, search {r.seconds:.1f} s", flush=True)
        accs = [f["test_accuracy"] for f in found]
        records.append(make_record(
            "search", method="evolution", variant=proxy, seeds=list(range(args.vit_runs)), found=found,
            **mean_std(accs, "accuracy"), **mean_std(secs, "seconds"), train_seconds_mean=float(np.mean(train_secs)),
            **mean_std(params, "params"), inputs=f"{images.source}:{len(images.x)}", **common))
    # random search judged by the trained accuracy: the best of k ViTs drawn from the ground truth,
    # at several k, since a proxy-driven run costs about one training plus its proxy time
    rng = np.random.default_rng(0)
    for k in sorted({q for q in (1, 2, 5, 10, 20, args.vit_queries) if q <= len(pool)}):
        draws = [rng.choice(len(pool), size=k, replace=False) for _ in range(RANDOM_DRAWS)]
        records.append(make_record(
            "search", method="random", variant="accuracy", seeds=[0], draws=RANDOM_DRAWS,
            **mean_std([float(pool_acc[d].max()) for d in draws], "accuracy"),
            **mean_std([sum(pool[i][1] for i in d) for d in draws], "seconds"), random_queries=k,
            note=f"best of {k} ViTs drawn without replacement from the ground truth under the budget "
                 f"({RANDOM_DRAWS} draws); seconds: their training time",
            **{**common, "protocol": f"budget{args.vit_budget_params:g}-q{k}", "queries": k}))
    return records


class FoundViTs:
    """Test accuracy of a found ViT under the ground truth's recipe (seed 0), trained once and kept
    in a JSON-lines file (one line per net, appended at once) so that a re-run reuses it."""

    def __init__(self, path: Path, space, recipe: ImageRecipe, ground_truth: list[dict], device: str):
        self.path, self.space, self.recipe, self.device, self.data = path, space, recipe, device, None
        lines = path.read_text().splitlines() if path.exists() else []
        self.known = {(r["key"], r["recipe_digest"]): (r["test_accuracy"], r["seconds"])
                      for r in [*ground_truth, *(json.loads(line) for line in lines if line.strip())]}

    def accuracy(self, key: str) -> tuple[float, float]:
        """(test accuracy %, training seconds) of ``key``."""
        cell = (self.space.key(self.space.parse(key)), self.recipe.digest())
        if cell not in self.known:
            if self.data is None:
                self.data = recipe_data(self.recipe)
            torch.manual_seed(0)
            res = train_and_test(nets.vit_network(cell[0], self.space.name), self.recipe, self.data, seed=0,
                                 device=self.device)
            append_json_line(self.path, {"key": cell[0], "seed": 0, "recipe_digest": cell[1],
                                         "test_accuracy": res["test_accuracy"], "seconds": res["seconds"]})
            self.known[cell] = (res["test_accuracy"], res["seconds"])
        return self.known[cell]


def plot(curves: dict, best: float, path: Path, title: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, c in curves.items():
        ax.plot(np.arange(1, len(c) + 1), c, label=label)
    ax.axhline(best, color="grey", ls="--", lw=0.8, label="best reachable")
    ax.set_xlabel("queries")
    ax.set_ylabel("CIFAR-10 test accuracy of best-so-far (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"),
                    help="benchmark data folder (needs nb201/); default $ARCHREP_DATA_DIR")
    ap.add_argument("--runs", type=int, default=10, help="NB201 proxy/budget runs (seeds 0..N-1), default 10 (0: skip)")
    ap.add_argument("--llm-runs", type=int, default=20, help="NB201 Arch-LLM comparison runs, default 20 (0: skip)")
    ap.add_argument("--llm-masked", type=int, default=2, help="llm-fill: codes masked per mutation (default 2)")
    ap.add_argument("--llm-temperature", type=float, default=1.0, help="llm-fill: sampling temperature (default 1.0)")
    ap.add_argument("--queries", type=int, default=100, help="queries per NB201 run (default 100)")
    ap.add_argument("--budget-params", type=float, default=1.0e6, help="NB201 parameter budget (default 1e6)")
    ap.add_argument("--proxies", default="synflow", help="comma-separated proxies driving evolution (ntk, vintk: slow)")
    ap.add_argument("--population", type=int, default=20)
    ap.add_argument("--sample-size", type=int, default=5)
    ap.add_argument("--vit-runs", type=int, default=10, help="vit-tiny runs (0: skip)")
    ap.add_argument("--vit-queries", type=int, default=50)
    ap.add_argument("--vit-budget-params", type=float, default=5.0e5, help="vit-tiny budget (its nets: 0.17-1.21 M)")
    ap.add_argument("--vit-proxies", default="synflow", help="comma-separated proxies for vit-tiny")
    ap.add_argument("--vit-inputs", default="fashion-mnist-train",
                    help="vit-tiny image source (default: Fashion-MNIST training images, the ground truth's data)")
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
    records = nb201_runs(args, images, results) if args.runs > 0 else []
    if args.llm_runs > 0:
        records += llm_runs(args, results)
    if args.vit_runs > 0:  # the NB201 records are written as each is done (compare)
        vit = vit_runs(args, results)
        # the ViT records of before the ground truth (target "none": proxies only) are superseded
        write_records(results / "search.json", vit,
                      superseded=lambda r: r.get("dataset") == "vit-tiny" and r.get("target") == "none")
        records += vit
    for r in records:
        acc = f"accuracy {r['accuracy_mean']:.2f} ± {r['accuracy_std']:.2f}" if "accuracy_mean" in r else "proxies only"
        print(f"{r['dataset']:8s} {r['method']:9s} {r['variant']:9s} {acc}, {r['seconds_mean']:.1f} s/run")
    print(f"wrote {results / 'search.json'} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
