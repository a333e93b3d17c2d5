"""Accuracy prediction benchmark -> benchmarks/results/accuracy_prediction.json.

Kendall tau and Spearman of every requested predictor, mean ± std over seeds, with training
seconds and inference speed (architectures per second), in parts:

* ``nb201``: space-fraction protocol (train on N of a seeded permutation, validate on the next
  1,024, test on all 15,625), N = 469 / 781 / 1,563, on the official CIFAR-10 test accuracy
  (``cifar10``, needs the data folder) and analog-nasbench's digital CIFAR-10 accuracy
  (``baseline_accuracy``);
* ``targets``: the official CIFAR-100 and ImageNet16-120 test accuracies at N = 781;
* ``hardware``: analog-nasbench's accuracy after post-training quantisation (``ptq_accuracy``)
  and on analog in-memory hardware (``analog_accuracy``) at N = 781;
* ``nbgraph``: three NAS-Bench-Graph datasets (target ``perf``), N = 1 % and 5 % of 26,206;
* ``ablations``: every named variant of each method (``archrep.models.variants``) other than
  the paper's ``default`` and our ``archrep`` improvement (which every part runs), on ``cifar10``
  at N = 781;
* ``loading``: ``archrep.data.load("nb201")`` from a cold and a warm cache
  (-> benchmarks/results/data_loading.json).

Each finished cell is written at once (nothing lost on a crash); ``--resume`` skips cells the
results file already holds for the same seeds, so an interrupted run continues where it stopped.

    python benchmarks/accuracy_prediction.py --data-dir ../shared/data
    python benchmarks/accuracy_prediction.py --parts nb201,ablations --methods ledg --resume
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

import torch

from archrep import data, experiment, models
from archrep.results import make_record, read_records, write_records

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("loading", "nb201", "targets", "hardware", "nbgraph", "ablations")
NB201_SIZES = (469, 781, 1563)
NB201_TARGETS = ("cifar10", "baseline_accuracy")
OTHER_TARGETS = ("cifar100", "imagenet16")
HARDWARE_TARGETS = ("ptq_accuracy", "analog_accuracy")
NBGRAPH_DATASETS = ("nbgraph-cora", "nbgraph-citeseer", "nbgraph-pubmed")
NBGRAPH_FRACTIONS = (0.01, 0.05)
MAIN_VARIANTS = ("default", "archrep")


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


def plan(parts, methods, data_dir, quick: bool, targets=None) -> list[tuple]:
    """The (dataset, target, train_size, method, variant) cells of the requested parts.

    Every part runs each method's main variants (:data:`MAIN_VARIANTS` it has: the paper's
    ``default`` and our ``archrep`` improvement); the ``ablations`` part runs all the others.
    ``targets`` (None: all) restricts the NB201 targets."""
    cells: list[tuple] = []
    nb201 = data.load("nb201", data_dir=data_dir) if {"nb201", "targets", "hardware", "ablations"} & set(parts) else None
    runs = [(m, v) for m in methods for v in models.variants(m) if v in MAIN_VARIANTS]

    def present(names):
        return [t for t in names if t in nb201.targets and (targets is None or t in targets)]

    if "nb201" in parts:
        sizes = (781,) if quick else NB201_SIZES
        cells += [(nb201, t, n, m, v) for t in present(NB201_TARGETS) for n in sizes for m, v in runs]
    if "targets" in parts:
        cells += [(nb201, t, 781, m, v) for t in present(OTHER_TARGETS) for m, v in runs]
    if "hardware" in parts:
        cells += [(nb201, t, 781, m, v) for t in present(HARDWARE_TARGETS) for m, v in runs]
    if "nbgraph" in parts:
        for name in NBGRAPH_DATASETS:
            ds = data.load(name)
            cells += [(ds, "perf", int(len(ds) * f), m, v) for f in NBGRAPH_FRACTIONS for m, v in runs]
    if "ablations" in parts and present(["cifar10"]):
        cells += [(nb201, "cifar10", 781, m, v) for m in methods for v in models.variants(m) if v not in MAIN_VARIANTS]
    return cells


def _done(path: Path, ds_name: str, target: str, n: int, method: str, variant: str, seeds: list[int]) -> bool:
    return any(r.get("dataset") == ds_name and r.get("target") == target and r.get("train_size") == n
               and r.get("method") == method and r.get("variant") == variant and r.get("seeds") == seeds
               for r in read_records(path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"),
                    help="raw data folder (../shared/data); without it the official NB201 targets are skipped")
    ap.add_argument("--methods", default=",".join(models.list_models()), help="comma-separated predictors")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated parts of {', '.join(PARTS)}")
    ap.add_argument("--targets", help="comma-separated NB201 targets to run (default: all of each part)")
    ap.add_argument("--variants", help="comma-separated variant names to run (default: all the parts call for)")
    ap.add_argument("--sizes", help="comma-separated NB201 training sizes to run (default: all)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    ap.add_argument("--quick", action="store_true", help="one seed, 781 archs: a smoke run")
    ap.add_argument("--resume", action="store_true", help="skip cells the results file already has for these seeds")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a shared 2-core machine two threads can be far slower)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        models.MODELS.get(m)  # an unknown name lists the valid ones before any work
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)}; valid: {', '.join(PARTS)}")
    seeds = [0] if args.quick else list(range(args.seeds))
    out = Path(args.results)
    target_file = out / "accuracy_prediction.json"

    if "loading" in parts:
        recs = time_loading(args.data_dir)
        write_records(out / "data_loading.json", recs)
        print(f"nb201 load: cold {recs[0]['cold_seconds']:.2f} s, warm {recs[0]['warm_seconds_mean']:.3f} s")

    targets = [t.strip() for t in args.targets.split(",")] if args.targets else None
    variants = [v.strip() for v in args.variants.split(",")] if args.variants else None
    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else None
    for ds, target, n, method, variant in plan(parts, methods, args.data_dir, args.quick, targets):
        if (variants is not None and variant not in variants) or (sizes is not None and ds.name == "nb201" and n not in sizes):
            continue
        if args.resume and _done(target_file, ds.name, target, n, method, variant, seeds):
            continue
        why = models.MODELS.get(method).unsupported(ds)
        if why:
            print(f"skip {method} on {ds.name}: {why}")
            continue
        t0 = time.perf_counter()
        exp = experiment.run(ds, target, method, train_size=n, seeds=seeds, variant=variant, progress=False,
                             speed_repeats=3)
        rec = exp.record(threads=args.threads)
        write_records(target_file, [rec])  # after every cell: nothing lost on a crash
        label = method if variant == "default" else f"{method}/{variant}"
        print(f"{ds.name:18s} {target:18s} n={n:5d} {label:22s} tau {rec['kendall_tau_mean']:.4f} "
              f"± {rec['kendall_tau_std']:.4f}  rho {rec['spearman_mean']:.4f}  "
              f"{rec['archs_per_second']:,.0f} archs/s  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
