"""How well a stored latency reproduces: re-measure zoo models -> benchmarks/results/latency_retest.json.

A predictor cannot be more accurate than its labels are repeatable. This script samples
``--per-family`` models of each family from a latency export (default: the committed
``zoo_latency.jsonl.xz``), rebuilds each from its (family, config), checks that the rebuilt ONNX
graph has the stored graph hash, and measures it again ``--rounds`` times on each ``--platforms``
setting of this machine, in the dataset's timing protocol (:func:`archrep.latency.profile`).
Rounds go over all sampled models in turn, so a model's rounds lie minutes apart.

Two protocols, each for the median (``variant`` "median", the dataset's label) and for the fastest
run (``variant`` "min"):

* ``between-session``: a round against the stored value, measured in another session (hours or
  days before, with other tenants on a shared machine): the error floor of a predictor trained
  on the stored labels and judged on them. ``runs`` = rounds; mean ± std over rounds.
* ``within-session``: round i + 1 against round i of the same session. ``runs`` = rounds - 1.

Every model's measurements (stored and new, median and fastest run, with their times) go to
``latency_retest_measurements.jsonl`` beside the results, one line per (model, platform), replaced
when measured again: ``benchmarks/latency_label_noise.py`` scores predictors against them.

Per-model error: APE = |new - reference| / reference. Records (task ``latency_retest``):
``dataset`` "zoo-latency", ``protocol``, ``method`` "retest", ``variant``, ``family`` (or "all"),
``target`` ``latency_<platform id>``, ``setting`` (platform id), ``platform`` (its text), ``runs``,
``seeds``, ``n_models``, ``mape_mean/_std``, ``median_ape_mean/_std``, ``acc10_mean/_std`` (APE ≤ 10 %),
``spearman_mean/_std``, ``drift_mean/_std`` (median of new / reference: a slower or faster session)
and, between sessions, ``hours_since_stored`` (median). Run it on an otherwise idle machine.

    python benchmarks/latency_retest.py --per-family 10 --rounds 3
    python benchmarks/latency_retest.py --platforms torch:fp32:1 --families resnet,vgg --per-family 5
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from archrep.cli import platform_specs
from archrep.data.cache import atomic_write_bytes
from archrep.data.zoo_latency import DEFAULT_FILE
from archrep.errors import ArchrepError
from archrep.io import export_onnx, from_onnx
from archrep.latency import profile
from archrep.latency.store import read_export
from archrep.results import make_record, write_records
from archrep.train.metrics import acc10, mape, spearman
from archrep.zoo import families as zoo

RESULTS = Path(__file__).resolve().parent / "results"
TASK = "latency_retest"
MEASUREMENTS = f"{TASK}_measurements.jsonl"
STATISTICS = {"median": "median_ms", "min": "min_ms"}


def stored_rows(path: Path, platform_ids: set[str]) -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    """(graph hash -> {family, config}, (graph hash, platform id) -> measurement row) of an export,
    for the graphs measured at their own batch on ``platform_ids``; of a model measured in several
    passes, its first pass (one measurement, taken at one known time)."""
    graphs, measured = {}, {}
    for _, table, row in read_export(path):
        if table == "graphs" and row["family"]:
            graphs[row["graph_hash"]] = {"family": row["family"], "config": row["config"]}
        elif table == "measurements" and row["platform_id"] in platform_ids and row["pass_index"] == 0:
            measured[row["graph_hash"], row["platform_id"]] = row
    return graphs, measured


def sample(graphs: dict[str, dict], measured: dict, platform_ids: list[str], families: list[str],
           per_family: int, seed: int) -> list[str]:
    """``per_family`` graph hashes of each family measured on every platform (seeded), round-robin."""
    picks = []
    for name in families:
        pool = sorted(h for h, g in graphs.items() if g["family"] == name
                      and all((h, p) in measured for p in platform_ids))
        picks.append(random.Random(f"{seed}/{name}").sample(pool, min(per_family, len(pool))))
    return [h for i in range(per_family) for fam in picks for h in fam[i:i + 1]]


def read_measurements(path: Path) -> list[dict]:
    """The per-model lines of a ``latency_retest_measurements.jsonl`` (empty when there is none)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_measurements(path: Path, rows: list[dict]) -> None:
    """Merge ``rows`` into the file at ``path`` (a (graph hash, platform) measured again replaces its
    line), written through a temporary file and a rename."""
    new = {(r["graph_hash"], r["platform_id"]): r for r in rows}
    kept = [r for r in read_measurements(path) if (r["graph_hash"], r["platform_id"]) not in new]
    atomic_write_bytes(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept + rows).encode())


def errors(new: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    return {"mape": mape(ref, new), "median_ape": float(np.median(np.abs(new - ref) / ref)), "acc10": acc10(ref, new),
            "spearman": spearman(ref, new) if len(new) > 2 else float("nan"), "drift": float(np.median(new / ref))}


def summarise(pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Mean and std over runs (pairs of new / reference arrays) of :func:`errors`."""
    runs = [errors(new, ref) for new, ref in pairs]
    out = {}
    for k in runs[0]:
        values = np.array([r[k] for r in runs])
        out[f"{k}_mean"], out[f"{k}_std"] = float(values.mean()), float(values.std())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", default=str(DEFAULT_FILE),
                    help="latency export to re-measure (default: the committed zoo_latency.jsonl.xz)")
    ap.add_argument("--platforms", default="onnxruntime:fp32:1,torch:fp32:1",
                    help="comma-separated RUNTIME:PRECISION:THREADS of this machine (default: the one-thread "
                         "fp32 settings); each must be stored in the export, i.e. measured on this machine")
    ap.add_argument("--per-family", type=int, default=10, help="models per family (default 10)")
    ap.add_argument("--families", help="comma-separated zoo families (default: all ten)")
    ap.add_argument("--rounds", type=int, default=3, help="re-measurements per model (default 3, at least 2)")
    ap.add_argument("--seed", type=int, default=0, help="model sampling seed (default 0)")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)
    if args.rounds < 2 or args.per_family < 1:
        ap.error("need --rounds >= 2 and --per-family >= 1")
    platforms = platform_specs(args.platforms)
    ids = [p.id for p in platforms]
    families = [f.strip() for f in args.families.split(",")] if args.families else zoo.list()
    for name in families:
        zoo.get(name)  # unknown names list the valid ones
    graphs, measured = stored_rows(Path(args.export), set(ids))
    stored = {pid for _, pid in measured}
    missing = [pid for pid in ids if pid not in stored]
    if missing:
        raise ArchrepError(f"{args.export} holds no measurement on {missing} (this machine's platform ids): "
                           "a retest runs on the machine that measured the export; give another --export "
                           "or measure this machine first with 'archrep latency-dataset extend'")
    hashes = sample(graphs, measured, ids, families, args.per_family, args.seed)
    new = {(h, pid): [] for h in hashes for pid in ids}
    mismatched = set()
    for r in range(args.rounds):
        for h in tqdm(hashes, desc=f"round {r + 1}/{args.rounds}", unit="model"):
            if h in mismatched:
                continue
            name, config = graphs[h]["family"], json.loads(graphs[h]["config"])
            family = zoo.get(name)
            module, x = family.build(config), family.example_input(config)
            onnx_bytes = export_onnx(module, x)
            if r == 0 and from_onnx(onnx_bytes).hash() != h:
                mismatched.add(h)  # the generator changed since the export: not the same model
                continue
            for p in platforms:
                m = profile(onnx_bytes if p.runtime == "onnxruntime" else module, p, example_input=x)
                new[h, p.id].append(m)
    kept = [h for h in hashes if h not in mismatched]
    if not kept:
        raise ArchrepError(f"none of the {len(hashes)} sampled models rebuilds to its stored graph: the zoo "
                           "generators changed since the export was measured")
    results = Path(args.results)
    write_measurements(results / MEASUREMENTS, [
        {"graph_hash": h, "platform_id": pid, "family": graphs[h]["family"], "config": json.loads(graphs[h]["config"]),
         "stored": {k: measured[h, pid][k] for k in ("median_ms", "min_ms", "iqr_ms", "measured_at")},
         "retest": [{"median_ms": m.median_ms, "min_ms": m.min_ms, "iqr_ms": m.iqr_ms, "measured_at": m.timestamp}
                    for m in new[h, pid]]}
        for h in kept for pid in ids])
    now = datetime.now(timezone.utc)
    records = []
    for p in platforms:
        groups = {name: [h for h in kept if graphs[h]["family"] == name] for name in families}
        groups = {**{k: v for k, v in groups.items() if v}, "all": kept}
        for family, hs in groups.items():
            hours = [(now - datetime.fromisoformat(measured[h, p.id]["measured_at"])).total_seconds() / 3600
                     for h in hs]
            for variant, column in STATISTICS.items():
                ref = np.array([measured[h, p.id][column] for h in hs])
                rounds = [np.array([getattr(new[h, p.id][r], column) for h in hs]) for r in range(args.rounds)]
                common = dict(dataset="zoo-latency", method="retest", variant=variant, family=family,
                              target=f"latency_{p.id}", setting=p.id, platform=p.template(), seeds=[args.seed],
                              n_models=len(hs), per_family=args.per_family)
                records.append(make_record(TASK, protocol="between-session", runs=args.rounds,
                                           hours_since_stored=float(np.median(hours)),
                                           **common, **summarise([(x, ref) for x in rounds])))
                records.append(make_record(TASK, protocol="within-session", runs=args.rounds - 1, **common,
                                           **summarise(list(zip(rounds[1:], rounds[:-1])))))
    write_records(results / f"{TASK}.json", records)
    for rec in records:
        if rec["family"] == "all":
            print(f"{rec['setting']:28s} {rec['protocol']:16s} {rec['variant']:6s} MAPE {100 * rec['mape_mean']:5.2f} "
                  f"± {100 * rec['mape_std']:.2f} %  Acc10 {100 * rec['acc10_mean']:5.1f} %  "
                  f"drift {rec['drift_mean']:.3f}  ({rec['n_models']} models)")
    if mismatched:
        print(f"{len(mismatched)} sampled model(s) left out: their rebuilt graph differs from the stored one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
