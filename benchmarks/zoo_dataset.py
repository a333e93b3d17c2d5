"""What the committed zoo-latency dataset holds -> benchmarks/results/zoo_dataset.json (task ``zoo_dataset``)
and a plot of each family's latency range per platform (``zoo_latency_ranges.png``).

Issue 5 asks for >= 10 families x >= 200 models on >= 4 platforms, each family spanning a wide
latency range, with the measurement spread recorded. This script reads the export file (default:
the package file that ``archrep.data.load("zoo-latency")`` reads; ``--zoo-file`` another machine's)
without building any graph and writes, per platform and family and per platform with
``family="all"``: ``n_models`` (measured models, batch sizes counted apart), ``latency_ms_min /
_median / _max``, ``latency_span`` (max / min), ``rel_spread_median`` (median IQR / median, the
noise floor), ``rounds_mean`` (timed rounds; a noisy round is measured again) and ``passes_mean``
(measurements per model; a model measured in several passes counts once, with the medians of its
passes, as the dataset labels it), and where models were measured in several passes
``multi_pass_models`` and ``one_pass_mape`` (the mean over them of |one pass - the median of
its other passes| / that median: how far a one-pass label lies from the label the other passes
give, the label noise that several passes average away), and for a platform whose machine was also
measured with the same runtime at fp32 on one thread (the reference: :func:`reference_platform`)
``speedup_reference`` (its id), ``speedup_pairs`` (models measured on both) and ``speedup_median``,
``speedup_q1``, ``speedup_q3`` (quartiles over those models of reference latency / this latency: what
a second thread, int8, bf16 or fp16 buys on the same models), plus the file's
``file`` (its name), ``file_mb`` and ``graphs``. README numbers about the dataset come from these records.

    python benchmarks/zoo_dataset.py
    python benchmarks/zoo_dataset.py --zoo-file other_machine.jsonl.gz --results /tmp/zoo
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from archrep.data.zoo_latency import DEFAULT_FILE
from archrep.latency import Platform
from archrep.latency.store import read_export
from archrep.results import make_record, write_records

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plotting import pyplot  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASK = "zoo_dataset"
PLOT = "zoo_latency_ranges.png"


def read_zoo(path: Path) -> tuple[dict[str, Platform], dict[str, dict[str, list[dict]]], int]:
    """(platforms by id, {platform id: {family: [model]}}, number of graphs) of an export file, a
    model's passes merged (:func:`merge_passes`); measurements of graphs stored without a family
    (not zoo models) are left out."""
    platforms, family_of, passes = {}, {}, {}
    for _, table, rec in read_export(path):
        if table == "platforms":
            platforms[rec["platform_id"]] = Platform.from_json(rec["descriptor"])
        elif table == "graphs":
            family_of[rec["graph_hash"]] = rec["family"]
        else:
            passes.setdefault((rec["platform_id"], rec["graph_hash"], rec["batch"]), []).append(rec)
    measured: dict[str, dict[str, list[dict]]] = {}
    for (pid, graph_hash, batch), recs in passes.items():
        family = family_of.get(graph_hash)
        if family is not None:
            measured.setdefault(pid, {}).setdefault(family, []).append(
                {**merge_passes(recs), "key": (graph_hash, batch)})
    return platforms, measured, len(family_of)


def reference_platform(pid: str, platforms: dict[str, Platform]) -> str | None:
    """The platform the speed-up of ``pid`` is measured against: the same machine, runtime and
    device at fp32 on one thread; None for that platform itself or when it was not measured."""
    p = platforms[pid]
    return next((q for q, o in platforms.items() if q != pid and o.machine_id == p.machine_id
                 and o.runtime == p.runtime and o.device == p.device and o.precision == "fp32" and o.threads == 1),
                None)


def speedup(rows: list[dict], reference_ms: dict[tuple, float]) -> dict:
    """Quartiles of reference latency / latency over the rows also measured on the reference."""
    ratios = [reference_ms[r["key"]] / r["median_ms"] for r in rows if r["key"] in reference_ms]
    if not ratios:
        return {}
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    return {"speedup_pairs": len(ratios), "speedup_median": float(med), "speedup_q1": float(q1),
            "speedup_q3": float(q3)}


def merge_passes(recs: list[dict]) -> dict:
    """One model's passes on one platform as one row: the medians of their median and IQR (the
    dataset's label and noise), their mean rounds, how many there are and, for several, the mean
    relative distance of one pass from the median of the others (``one_pass_ape``)."""
    ms = np.array([float(r["median_ms"]) for r in recs])
    others = [np.median(np.delete(ms, j)) for j in range(len(ms))] if len(ms) > 1 else []
    return {"median_ms": float(np.median(ms)), "iqr_ms": float(np.median([float(r["iqr_ms"]) for r in recs])),
            "rounds": float(np.mean([float(r["rounds"]) for r in recs])), "passes": len(recs),
            "one_pass_ape": float(np.mean([abs(m - o) / o for m, o in zip(ms, others)])) if others else None}


def summary(rows: list[dict]) -> dict:
    ms = np.array([float(r["median_ms"]) for r in rows])
    spread = np.array([float(r["iqr_ms"]) for r in rows]) / ms
    multi = [r["one_pass_ape"] for r in rows if r["one_pass_ape"] is not None]
    return {"n_models": len(rows), "latency_ms_min": float(ms.min()), "latency_ms_median": float(np.median(ms)),
            "latency_ms_max": float(ms.max()), "latency_span": float(ms.max() / ms.min()),
            "rel_spread_median": float(np.median(spread)),
            "rounds_mean": float(np.mean([r["rounds"] for r in rows])),
            "passes_mean": float(np.mean([r["passes"] for r in rows])),
            **({"multi_pass_models": len(multi), "one_pass_mape": float(np.mean(multi))} if multi else {})}


def plot(measured: dict[str, dict[str, list[dict]]], out: Path) -> None:
    """One panel per platform: each family's measured latencies as a box on a log axis."""
    plt = pyplot()
    if plt is None:
        return
    cols = min(4, len(measured))
    nrows = -(-len(measured) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, (pid, by_family) in zip(axes.flat, measured.items()):
        names = sorted(by_family)
        ax.boxplot([[float(r["median_ms"]) for r in by_family[f]] for f in names], whis=(0, 100))
        ax.set_yscale("log")
        ax.set_xticks(range(1, len(names) + 1), names, rotation=60, fontsize=7)
        ax.set_title(f"{pid} ({sum(len(v) for v in by_family.values())} models)", fontsize=8)
        ax.set_ylabel("median latency (ms)", fontsize=7)
    for ax in list(axes.flat)[len(measured):]:
        ax.axis("off")
    fig.tight_layout()
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo-file", help="a latency-dataset export (default: the package file)")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results and the plot")
    args = ap.parse_args(argv)
    path = Path(args.zoo_file) if args.zoo_file else DEFAULT_FILE
    platforms, measured, graphs = read_zoo(path)
    file_mb = path.stat().st_size / 1e6
    recs = []
    for pid in sorted(measured, key=lambda q: (platforms[q].machine_id, q)):  # a machine's platforms together
        by_family = measured[pid]
        groups = {**dict(sorted(by_family.items())), "all": [r for rows in by_family.values() for r in rows]}
        ref = reference_platform(pid, platforms)
        ref_ms = {r["key"]: r["median_ms"] for rows in measured.get(ref, {}).values() for r in rows}
        for family, rows in groups.items():
            gain = speedup(rows, ref_ms)
            recs.append(make_record(TASK, dataset="zoo-latency", target=f"latency_ms_{pid}", family=family,
                                    setting=pid, platform=platforms[pid].template(), families=len(by_family),
                                    graphs=graphs, file=path.name, file_mb=round(file_mb, 2), **summary(rows),
                                    **({"speedup_reference": ref, **gain} if gain else {})))
        a = recs[-1]
        print(f"{pid:28s} {a['n_models']:5d} models, {len(by_family)} families, latency "
              f"{a['latency_ms_min']:.2f}-{a['latency_ms_max']:.0f} ms, noise floor {100 * a['rel_spread_median']:.1f} %"
              + (f", one pass vs the others {100 * a['one_pass_mape']:.2f} % MAPE ({a['multi_pass_models']} models)"
                 if "one_pass_mape" in a else ""), flush=True)
    results = Path(args.results)
    write_records(results / f"{TASK}.json", recs)
    plot(measured, results / PLOT)
    print(f"{path}: {file_mb:.2f} MB, {graphs} graphs, {len(measured)} platforms; plot {results / PLOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
