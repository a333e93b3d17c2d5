"""Accuracy prediction benchmark -> benchmarks/results/accuracy_prediction.json.

Kendall tau and Spearman of every requested predictor, mean ± std over seeds, with training
seconds and inference speed (architectures per second), on:

* NB201, space-fraction protocol (train on N of a seeded permutation, validate on the next
  1,024, test on all 15,625): the official CIFAR-10 test accuracy (``cifar10``, needs the data
  folder) and analog-nasbench's digital CIFAR-10 accuracy (``baseline_accuracy``), N = 469 /
  781 / 1,563;
* three NAS-Bench-Graph datasets (target ``perf``), N = 1 % and 5 % of the 26,206 archs.

It also times ``archrep.data.load`` of NB201 from a cold and a warm cache
(-> benchmarks/results/data_loading.json).

    python benchmarks/accuracy_prediction.py --data-dir ../shared/data
    python benchmarks/accuracy_prediction.py --quick      # one seed, one size: a smoke run
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from archrep import data, experiment, models
from archrep.results import make_record, write_records

RESULTS = Path(__file__).resolve().parent / "results"
NB201_SIZES = (469, 781, 1563)
NBGRAPH_DATASETS = ("nbgraph-cora", "nbgraph-citeseer", "nbgraph-pubmed")
NBGRAPH_FRACTIONS = (0.01, 0.05)


def time_loading(data_dir: str | None, repeats: int = 5) -> list[dict]:
    """Cold build and warm cache loads of NB201, in a throw-away ARCHREP_HOME."""
    old = os.environ.get("ARCHREP_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["ARCHREP_HOME"] = home
        try:
            t0 = time.perf_counter()
            data.load("nb201", data_dir=data_dir)
            cold = time.perf_counter() - t0
            warm = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                data.load("nb201", data_dir=data_dir)
                warm.append(time.perf_counter() - t0)
        finally:
            if old is None:
                os.environ.pop("ARCHREP_HOME", None)
            else:
                os.environ["ARCHREP_HOME"] = old
    return [make_record("data_loading", dataset="nb201", with_data_dir=data_dir is not None,
                        cold_seconds=cold, warm_seconds_mean=statistics.mean(warm),
                        warm_seconds_std=statistics.pstdev(warm), repeats=repeats)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"),
                    help="raw data folder (../shared/data); without it the official NB201 targets are skipped")
    ap.add_argument("--methods", default=",".join(models.list_models()), help="comma-separated predictors")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    ap.add_argument("--quick", action="store_true", help="one seed, 781 archs, NB201 only: a smoke run")
    ap.add_argument("--only", choices=["nb201", "nbgraph", "loading"], help="run one part")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    seeds = [0] if args.quick else list(range(args.seeds))
    out = Path(args.results)
    target_file = out / "accuracy_prediction.json"

    if args.only in (None, "loading"):
        recs = time_loading(args.data_dir)
        write_records(out / "data_loading.json", recs)
        print(f"nb201 load: cold {recs[0]['cold_seconds']:.2f} s, warm {recs[0]['warm_seconds_mean']:.3f} s")

    cells = []
    if args.only in (None, "nb201"):
        nb201 = data.load("nb201", data_dir=args.data_dir)
        targets = [t for t in ("cifar10", "baseline_accuracy") if t in nb201.targets]
        sizes = (781,) if args.quick else NB201_SIZES
        cells += [(nb201, t, n) for t in targets for n in sizes]
    if args.only in (None, "nbgraph") and not args.quick:
        for name in NBGRAPH_DATASETS:
            ds = data.load(name)
            cells += [(ds, "perf", int(len(ds) * f)) for f in NBGRAPH_FRACTIONS]

    for ds, target, n in cells:
        for method in methods:
            t0 = time.perf_counter()
            exp = experiment.run(ds, target, method, train_size=n, seeds=seeds, progress=False)
            rec = exp.record()
            write_records(target_file, [rec])  # after every cell: nothing lost on a crash
            print(f"{ds.name:18s} {target:18s} n={n:5d} {method:8s} tau {rec['kendall_tau_mean']:.4f} "
                  f"± {rec['kendall_tau_std']:.4f}  rho {rec['spearman_mean']:.4f}  "
                  f"{rec['archs_per_second']:,.0f} archs/s  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
