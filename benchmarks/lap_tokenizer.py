"""LAP tokenizer speed -> benchmarks/results/lap_tokenizer.json.

Times TART's tokenizer (Laplacian eigenvectors + tokens, ``archrep.features.lap.tart_tokens``,
one batched ``torch.linalg.eigh`` per chunk) against the loop TART describes: one
``numpy.linalg.eigh`` per graph and the same tokens built graph by graph, on

* all 15,625 NAS-Bench-201 cells (8 nodes each, ``archrep.data.load("nb201")``);
* seeded random DAGs of 100-200 nodes (every node on an input -> output path), padded to 200.

Each timing is repeated (after one warm-up run) and reported as mean ± std seconds with the
speed-up of each batched variant over the per-graph loop. Before timing, the batched tokens are
checked against the per-graph ones (same mask and feature columns; same projector onto the first
dp eigenvectors wherever the dp-th eigenvalue gap makes that projector well defined).

    python benchmarks/lap_tokenizer.py                 # full run (a few minutes on 2 cores)
    python benchmarks/lap_tokenizer.py --graphs 200    # a quicker run on fewer random DAGs
"""
from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import numpy as np
import torch

from timing import timed  # benchmarks/timing.py, beside this script
from archrep import data, spaces
from archrep.data.dataset import ArchDataset
from archrep.errors import UnknownNameError
from archrep.features.lap import tart_tokens
from archrep.results import make_record, write_records

RESULTS = Path(__file__).resolve().parent / "results"
DP = 3
#: projectors are compared only where the gap after the dp-th eigenvalue is at least this
CHECK_GAP = 1e-2


def nb201_arrays() -> tuple[np.ndarray, np.ndarray, int, str]:
    """(ops, adj, num_ops, source) of all NB201 cells: the dataset loader, else the search space."""
    try:
        ds = data.load("nb201")
        source = "archrep.data.load('nb201')"
    except UnknownNameError as exc:
        print(f"data.load('nb201') unavailable ({exc}); building the cells from archrep.spaces.get('nb201')")
        space = spaces.get("nb201")
        archs = list(space.enumerate())
        ds = ArchDataset.from_graphs("nb201", [space.key(a) for a in archs],
                                     [space.to_graph(a) for a in archs], {}, op_vocab=space.op_vocab)
        source = "archrep.spaces.get('nb201') (keep_none)"
    return ds.ops, ds.adj, len(ds.op_vocab), source


def random_dags(count: int, min_nodes: int, max_nodes: int, seed: int,
                edges_per_node: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Padded (ops, adj) of ``count`` random DAGs in topological order.

    Each graph has n ~ U{min_nodes..max_nodes} nodes, random forward edges (about
    ``edges_per_node`` per node), plus one random predecessor for every node without one and one
    random successor for every node without one, so every node lies on an input -> output path.
    Ops are uniform over 7 op indices, with op 0 for the input and 6 for the output.
    """
    rng = np.random.default_rng(seed)
    ops = np.full((count, max_nodes), -1, np.int16)
    adj = np.zeros((count, max_nodes, max_nodes), np.uint8)
    for i in range(count):
        n = int(rng.integers(min_nodes, max_nodes + 1))
        a = np.triu(rng.random((n, n)) < 2 * edges_per_node / (n - 1), 1)
        for v in np.flatnonzero(~a.any(0))[1:]:
            a[rng.integers(0, v), v] = True
        for u in np.flatnonzero(~a.any(1))[:-1]:
            a[u, rng.integers(u + 1, n)] = True
        adj[i, :n, :n] = a
        ops[i, :n] = rng.integers(1, 6, n)
        ops[i, 0], ops[i, n - 1] = 0, 6
    return ops, adj


def per_graph_tokens(ops: np.ndarray, adj: np.ndarray, num_ops: int, dp: int = DP):
    """The same tokens as ``tart_tokens`` (default layout), one graph at a time with numpy.

    Returns (tokens, mask, eigvals): eigvals (N, dp + 1) of each graph (NaN past n), for the check.
    """
    per_graph, eigvals = [], np.full((len(ops), dp + 1), np.nan)
    for i in range(len(ops)):
        n = int((ops[i] >= 0).sum())
        a = adj[i, :n, :n] != 0
        sym = (a | a.T).astype(np.float64)
        dinv = 1.0 / np.sqrt(np.maximum(sym.sum(1), 1.0))
        w, vec = np.linalg.eigh(np.eye(n) - dinv[:, None] * sym * dinv[None, :])
        k = min(dp, n)
        eigvals[i, :min(dp + 1, n)] = w[:dp + 1]
        p = np.zeros((n, dp))
        p[:, :k] = vec[:, :k]
        us, vs = np.nonzero(a)
        idx = np.arange(n) / max(n - 1, 1)
        node = np.concatenate([((ops[i, :n] + 1) / num_ops)[:, None], p, p,
                               np.ones((n, 1)), np.zeros((n, 1)), idx[:, None], idx[:, None]], axis=1)
        edge = np.concatenate([np.zeros((len(us), 1)), p[us], p[vs], np.zeros((len(us), 1)),
                               np.ones((len(us), 1)), idx[us, None], idx[vs, None]], axis=1)
        per_graph.append(np.concatenate([node, edge]))
    t = max(len(x) for x in per_graph)
    tokens = np.zeros((len(ops), t, 1 + 2 * dp + 4), np.float32)
    mask = np.zeros((len(ops), t), bool)
    for i, x in enumerate(per_graph):
        tokens[i, :len(x)] = x
        mask[i, :len(x)] = True
    return tokens, mask, eigvals


def check_agreement(ops, batched, reference, eigvals, dp: int = DP) -> int:
    """Raise if the batched tokens differ from the per-graph ones; return how many graphs had
    their eigenvector projector compared (those with eigenvalue gap >= CHECK_GAP after dp)."""
    tok, mask = (x.numpy() for x in batched)
    ref, ref_mask, _ = reference
    if tok.shape != ref.shape or not np.array_equal(mask, ref_mask):
        raise AssertionError(f"token shapes/masks differ: {tok.shape} vs {ref.shape}")
    plain = [0] + list(range(1 + 2 * dp, tok.shape[-1]))
    if not np.allclose(tok[..., plain], ref[..., plain], atol=1e-6):
        raise AssertionError("op / type / endpoint columns differ between batched and per-graph tokens")
    n = (ops >= 0).sum(1)
    gap = eigvals[:, dp] - eigvals[:, dp - 1]
    checked = np.flatnonzero(gap >= CHECK_GAP)
    for i in checked:
        a = tok[i, :n[i], 1:1 + dp].astype(np.float64)
        b = ref[i, :n[i], 1:1 + dp].astype(np.float64)
        if not np.allclose(a @ a.T, b @ b.T, atol=1e-4):
            raise AssertionError(f"graph {i}: eigenvector subspaces differ")
    return len(checked)


def bench(name: str, ops: np.ndarray, adj: np.ndarray, num_ops: int, repeats: int, **extra) -> list[dict]:
    reference = per_graph_tokens(ops, adj, num_ops)
    n_nodes = (ops >= 0).sum(1)
    info = dict(dataset=name, graphs=len(ops), max_nodes=int(ops.shape[1]),
                mean_nodes=float(n_nodes.mean()), mean_edges=float((adj != 0).sum((1, 2)).mean()),
                max_tokens=int(reference[0].shape[1]), dp=DP, repeats=repeats,
                torch_threads=torch.get_num_threads(), **extra)
    checked = {}
    for dtype in (torch.float32, torch.float64):
        checked[dtype] = check_agreement(ops, tart_tokens(ops, adj, DP, num_ops=num_ops, dtype=dtype),
                                         reference, reference[2])
    del reference
    base = timed(lambda: per_graph_tokens(ops, adj, num_ops), repeats)
    base_mean = statistics.mean(base)
    records = [make_record("lap_tokenizer", method="per_graph_numpy", variant="numpy_eigh_float64",
                           seconds_mean=base_mean, seconds_std=statistics.pstdev(base), speedup=1.0, **info)]
    print(f"{name}: per-graph numpy {base_mean:.3f} ± {statistics.pstdev(base):.3f} s")
    for dtype, variant in ((torch.float32, "eigh_float32"), (torch.float64, "eigh_float64")):
        secs = timed(lambda: tart_tokens(ops, adj, DP, num_ops=num_ops, dtype=dtype), repeats)
        mean = statistics.mean(secs)
        records.append(make_record("lap_tokenizer", method="batched", variant=variant, seconds_mean=mean,
                                   seconds_std=statistics.pstdev(secs), speedup=base_mean / mean,
                                   checked_graphs=checked[dtype], **info))
        print(f"{name}: batched {variant} {mean:.3f} ± {statistics.pstdev(secs):.3f} s "
              f"-> {base_mean / mean:.1f}x ({checked[dtype]} graphs' eigenvectors checked)")
    return records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per method (default 3)")
    ap.add_argument("--graphs", type=int, default=1000, help="random DAGs (default 1000)")
    ap.add_argument("--min-nodes", type=int, default=100)
    ap.add_argument("--max-nodes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0, help="seed of the random DAGs")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    ap.add_argument("--only", choices=["nb201", "random"], help="run one part")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    records = []
    if args.only in (None, "nb201"):
        ops, adj, num_ops, source = nb201_arrays()
        records += bench("nb201", ops, adj, num_ops, args.repeats, graphs_source=source)
    if args.only in (None, "random"):
        ops, adj = random_dags(args.graphs, args.min_nodes, args.max_nodes, args.seed)
        records += bench(f"random_dag_{args.min_nodes}_{args.max_nodes}", ops, adj, 7, args.repeats,
                         seed=args.seed)
    write_records(Path(args.results) / "lap_tokenizer.json", records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
