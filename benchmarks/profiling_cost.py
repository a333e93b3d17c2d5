"""What one latency measurement costs -> benchmarks/results/profiling_cost.json (task ``profiling_cost``).

Issue 5's goal: profiling one model costs at most about 1 s plus 20 repeats of its own run time.
For ``--per-family`` zoo models of each family (seeded configs, not the dataset's, so the store is
not needed) and each ``--platforms`` setting, the wall clock of :func:`archrep.latency.profile` is
split into the model's own runs (warm-up + timed rounds, each at the measured median) and the rest
(session creation, int8 quantisation, input set-up, timing loop): ``overhead_seconds``. A model is
within the goal when its wall clock is at most 1 s + 20 x its median latency + its own extra
warm-up runs and re-measured rounds (noise the machine causes, reported as ``rounds_mean``).

One record per (platform, family) and per platform with ``family="all"``: ``n_models``,
``wall_seconds_mean/_max``, ``overhead_seconds_mean/_median/_max``, ``within_goal_fraction``,
``median_ms_mean``, ``rounds_mean``. Compare within one run: the machine is shared.

    python benchmarks/profiling_cost.py --per-family 3
    python benchmarks/profiling_cost.py --per-family 1 --platforms onnxruntime:int8:1 --families resnet,vgg
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from archrep.cli import platform_specs, zoo_jobs
from archrep.io import export_onnx
from archrep.latency import profile
from archrep.results import make_record, write_records
from archrep.zoo import families as zoo

RESULTS = Path(__file__).resolve().parent / "results"
TASK = "profiling_cost"
#: the goal's fixed allowance per model (seconds) and the repeats it allows
ALLOWANCE_S, GOAL_REPEATS = 1.0, 20


def measure(name: str, config: dict, platform) -> dict:
    """Wall clock and overhead of profiling one zoo model on ``platform`` (module docstring)."""
    family = zoo.get(name)
    full = family.config(config)
    module, x = family.build(full), family.example_input(full)
    model = export_onnx(module, x) if platform.runtime == "onnxruntime" else module
    t0 = time.perf_counter()
    m = profile(model, platform, example_input=x)
    wall = time.perf_counter() - t0
    own = (m.warmup + m.repeats * m.rounds) * m.median_ms / 1e3
    extra_runs = (m.warmup - 1 + m.repeats * (m.rounds - 1)) * m.median_ms / 1e3  # beyond 1 + 20 runs
    return {"wall": wall, "overhead": wall - own, "median_ms": m.median_ms, "rounds": m.rounds,
            "within": wall <= ALLOWANCE_S + (GOAL_REPEATS + 1) * m.median_ms / 1e3 + extra_runs}


def summary(rows: list[dict]) -> dict:
    wall, over = np.array([r["wall"] for r in rows]), np.array([r["overhead"] for r in rows])
    return {"n_models": len(rows), "wall_seconds_mean": float(wall.mean()), "wall_seconds_max": float(wall.max()),
            "overhead_seconds_mean": float(over.mean()), "overhead_seconds_median": float(np.median(over)),
            "overhead_seconds_max": float(over.max()),
            "within_goal_fraction": float(np.mean([r["within"] for r in rows])),
            "median_ms_mean": float(np.mean([r["median_ms"] for r in rows])),
            "rounds_mean": float(np.mean([r["rounds"] for r in rows]))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-family", type=int, default=3, help="models per family (default 3)")
    ap.add_argument("--families", help="comma-separated zoo families (default: all ten)")
    ap.add_argument("--platforms", default="onnxruntime:fp32:1,onnxruntime:int8:1,torch:fp32:1",
                    help="comma-separated RUNTIME:PRECISION:THREADS (default: the zoo's one-thread settings)")
    ap.add_argument("--seed", type=int, default=1, help="config sampling seed (default 1: not the dataset's 0)")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)
    jobs = zoo_jobs(args.per_family, [f.strip() for f in args.families.split(",")] if args.families else None,
                    args.seed)
    path = Path(args.results) / f"{TASK}.json"
    for platform in platform_specs(args.platforms):
        by_family: dict[str, list[dict]] = {}
        for name, config in jobs:
            by_family.setdefault(name, []).append(measure(name, config, platform))
            r = by_family[name][-1]
            print(f"{platform.id:28s} {name:14s} wall {r['wall']:6.2f} s  overhead {r['overhead']:5.2f} s  "
                  f"median {r['median_ms']:8.2f} ms  rounds {r['rounds']}", flush=True)
        groups = {**by_family, "all": [r for rows in by_family.values() for r in rows]}
        recs = [make_record(TASK, dataset="zoo", target=f"profile_seconds_{platform.id}", method=platform.runtime,
                            variant=platform.precision, family=f, setting=platform.id, platform=platform.template(),
                            seeds=[args.seed], per_family=args.per_family, **summary(rows))
                for f, rows in groups.items()]
        write_records(path, recs)
        a = recs[-1]
        print(f"{platform.id}: {a['n_models']} models, overhead mean {a['overhead_seconds_mean']:.2f} s "
              f"(max {a['overhead_seconds_max']:.2f} s), within 1 s + 20 runs: {100 * a['within_goal_fraction']:.0f} %",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
