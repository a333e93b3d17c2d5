"""FGP flow-surrogate speed -> benchmarks/results/flow_surrogate.json.

Times ``archrep.features.flow.flow_surrogates`` on every architecture of each dataset (all
15,625 NAS-Bench-201 cells; the 26,206 NAS-Bench-Graph Cora architectures), one batched sweep
with the space's configuration (``flow_config(ds.space)``), and the cached reload through
``surrogates_for``. Each timing is repeated after one warm-up run and reported as mean ± std
seconds. Before timing, the batched surrogates of a seeded sample of rows are checked against
one-graph-at-a-time calls.

    python benchmarks/flow_surrogate.py                      # nb201 and nbgraph-cora
    python benchmarks/flow_surrogate.py --datasets nb201 --repeats 5
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from timing import timed  # benchmarks/timing.py, beside this script
from archrep import data
from archrep.features.flow import flow_config, flow_surrogates, surrogates_for
from archrep.results import make_record, write_records

RESULTS = Path(__file__).resolve().parent / "results"


def check_against_single_graphs(ds, params, surrogates: np.ndarray, sample: int, seed: int) -> int:
    """Raise unless a seeded sample of rows equals one-graph calls; return the number checked."""
    rows = np.random.default_rng(seed).choice(len(ds), size=min(sample, len(ds)), replace=False)
    for i in rows:
        n = int(ds.num_nodes[i])
        alone = flow_surrogates(ds.ops[i:i + 1, :n], ds.adj[i:i + 1, :n, :n], params)[0]
        if not np.allclose(alone, surrogates[i], rtol=1e-10, atol=1e-12):
            raise AssertionError(f"{ds.name} row {i}: batched and single-graph surrogates differ")
    return len(rows)


def bench(name: str, repeats: int, sample: int, seed: int) -> list[dict]:
    ds = data.load(name)
    cfg = flow_config(ds.space)
    params = cfg.params(ds.op_vocab)
    checked = check_against_single_graphs(ds, params, flow_surrogates(ds.ops, ds.adj, params), sample, seed)
    info = dict(dataset=name, archs=len(ds), space=ds.space, max_nodes=ds.max_nodes,
                mean_nodes=float(ds.num_nodes.mean()), k=cfg.k, sigma=cfg.sigma, flow_seed=cfg.seed,
                repeats=repeats, checked_graphs=checked)
    records = []
    for variant, fn in (("compute", lambda: flow_surrogates(ds.ops, ds.adj, params)),
                        ("cached", lambda: surrogates_for(ds, cfg))):
        secs = timed(fn, repeats)
        mean, std = statistics.mean(secs), statistics.pstdev(secs)
        records.append(make_record("flow_surrogate", method="flow_surrogates", variant=variant,
                                   seconds_mean=mean, seconds_std=std, archs_per_second=len(ds) / mean, **info))
        print(f"{name}: {variant} {len(ds)} archs in {mean:.3f} ± {std:.3f} s ({len(ds) / mean:,.0f} archs/s)")
    return records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["nb201", "nbgraph-cora"])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per variant (default 3)")
    ap.add_argument("--check", type=int, default=200, help="rows checked against single-graph calls")
    ap.add_argument("--seed", type=int, default=0, help="seed of the checked sample")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)
    records = []
    for name in args.datasets:
        records += bench(name, args.repeats, args.check, args.seed)
    write_records(Path(args.results) / "flow_surrogate.json", records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
