"""Dataset "zoo-latency": the model zoo's latency measured on this machine, one target per platform.

The NNLQP-style database archrep builds itself (issue 5): the ten :mod:`archrep.zoo` families
profiled into a :class:`~archrep.latency.LatencyStore` by ``archrep latency-dataset build|extend``
and written out by ``archrep latency-dataset export`` as the store's export format (xz JSON
lines, :meth:`LatencyStore.export`: stable, diff-free for the same store, no pickles). The
registered dataset reads the package file :data:`DEFAULT_FILE`
(``archrep/data/files/zoo_latency.jsonl.xz``, the export's default target); :func:`from_export`
reads any export file.

**Rows**: one per measured (graph, batch) of a graph stored with a model family, ordered by
family, graph hash, batch; key ``<graph hash>-b<batch>``. Graphs from the store without a family
(``archrep profile`` without ``--family``) are left out and counted in ``meta["dropped"]``.
The graphs are the ONNX graphs of what was measured (op types of :mod:`archrep.io.vocab`, nodes in
topological order). Their node attributes (costs, channels, kernel, stride, output shape) become
the dataset's ``node_features`` (every column of
:data:`~archrep.features.node_features.NODE_FEATURES`; ``log_batch`` is the row's measured batch),
which the graph predictors (gin, tart, ledg) read beside op types and topology; sizes reach the
column-reading predictors through the cost columns.

**Targets**:

* ``latency_<platform>``: median latency in ms of the kept round (NaN where the row was not
  measured on that platform); of a model measured in several passes, the median over its passes; in the dataset :data:`MIN_NAME` ("zoo-latency-min", the same file
  read with ``statistic="min"``) the fastest run of that round instead, which repeats better
  across sessions on a shared machine (``benchmarks/latency_retest.py``). ``<platform>`` is the store's platform id without its hardware hash
  and with ``-`` written ``_`` (``ort-cpu-fp32-t1@3f9a0c12`` -> ``latency_ort_cpu_fp32_t1``), or
  with the hash when two stored platforms share that prefix (two machines);
* ``flops`` (millions, the :mod:`archrep.io.onnx` convention: 2 per multiply-accumulate),
  ``memory`` (memory traffic in MB, NNLQP's "MACs"; :data:`archrep.models.latency.MEMORY_COLUMN`),
  ``params`` (millions): what ``flops-linear`` and ``flops-macs-linear`` read; ``batch``;
* :data:`FAMILY_COLUMN`: index into ``meta["families"]``, a float column so that
  :meth:`ArchDataset.subset` keeps it aligned (:func:`row_families` gives the names).

**meta**: ``settings`` (latency target -> platform id), ``platforms`` (platform id -> descriptor,
:meth:`Platform.to_dict`), ``families``, ``rel_spread_median`` (per latency target, the median
of IQR / median over its measurements: the noise floor of any error measured on it),
``passes_mean`` (per latency target, the mean number of passes behind a label), ``label_passes``
(per latency target, the most passes behind one label), ``dropped`` and
``sources``.

:func:`stack_platforms` turns the dataset into rows per (architecture, platform), the stacked
format of :mod:`archrep.latency.stacked`, for LeDG-Former's platform token.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from archrep.data import DatasetSpec, register_dataset
from archrep.data.dataset import ArchDataset
from archrep.data.latency import _positive
from archrep.errors import ArchrepError, DataError
from archrep.graph import ArchGraph
from archrep.latency.platform import Platform
from archrep.latency.stacked import SETTING_COLUMN, stack_columns
from archrep.latency.store import read_export

NAME = "zoo-latency"
MIN_NAME = "zoo-latency-min"
#: label statistic -> (measurement column, how the target's description names it)
STATISTICS = {"median": ("median_ms", "median latency (ms)"), "min": ("min_ms", "fastest-run latency (ms)")}
VERSION = "4"
DEFAULT_FILE = Path(__file__).resolve().parent / "files" / "zoo_latency.jsonl.xz"
FAMILY_COLUMN = "family_index"
#: stacked datasets: index of each row's platform into ``meta["platform_settings"]`` (latency targets)
#: the commands that measure the committed dataset here (about 10 x 200 models on 4 platforms)
BUILD_COMMAND = ("archrep latency-dataset build --store zoo_latency.db --per-family 200 "
                 "--platforms onnxruntime:fp32:1,onnxruntime:fp32:2,onnxruntime:int8:1,torch:fp32:1")
EXPORT_COMMAND = "archrep latency-dataset export --store zoo_latency.db"
#: column -> (graph attribute, scale, description); what is not a graph attribute is described here
_COSTS = {
    "flops": ("flops", 1e6, "FLOPs (millions) of the ONNX graph, 2 per multiply-accumulate (archrep.io.onnx)"),
    "memory": ("mem_bytes", 1e6, "memory traffic (MB): bytes of every node's inputs, weights, outputs (NNLQP's MACs)"),
    "params": ("params", 1e6, "parameters (millions): elements of the graph's constant weights"),
}
_OTHER_INFO = {"batch": "batch size of the model's input (and of its measurement)",
               FAMILY_COLUMN: "the model family, as an index into meta['families']"}


def platform_targets(platform_ids: Sequence[str]) -> dict[str, str]:
    """platform id -> its latency target name (module docstring), for the ids of one file."""
    def name(text: str) -> str:
        return "latency_" + re.sub(r"\W", "_", text)

    short = {pid: name(pid.split("@")[0]) for pid in platform_ids}
    clash = {t for t in short.values() if list(short.values()).count(t) > 1}
    return {pid: name(pid) if t in clash else t for pid, t in short.items()}


def from_export(path: str | Path, name: str | None = None, statistic: str = "median",
                passes: int | None = None) -> ArchDataset:
    """The dataset (module docstring) of a :meth:`LatencyStore.export` file at ``path``.

    ``statistic``: the latency label, "median" (default) or "min" (the kept round's fastest run);
    ``name`` defaults to :data:`NAME` or :data:`MIN_NAME` after it. ``passes``: label a model by
    its first ``passes`` passes only (default: every stored pass), e.g. 1 to compare one-pass
    labels with multi-pass ones on the same file. A file that is missing, not an export, damaged,
    or that holds no measured zoo model raises one DataError naming it and the command that writes it.
    """
    if statistic not in STATISTICS:
        raise ArchrepError(f"statistic {statistic!r} is not a latency label; use one of {', '.join(STATISTICS)}")
    if passes is not None and (isinstance(passes, bool) or not isinstance(passes, int) or passes < 1):
        raise ArchrepError(f"passes={passes!r}: give a whole number >= 1 (the first passes that label a model), "
                           "or None for all")
    measure, label = STATISTICS[statistic]
    name = name or (NAME if statistic == "median" else MIN_NAME)
    path = Path(path)
    platforms: dict[str, Platform] = {}
    graphs: dict[str, tuple[int, str | None, str]] = {}  # hash -> (line, family, graph JSON)
    # (hash, batch) -> {pid: [(pass index, ms, spread) of each pass]}
    measured: dict[tuple[str, int], dict[str, list[tuple[int, float, float]]]] = {}
    for lineno, table, rec in read_export(path):
        where = f"{path}, line {lineno}"
        try:
            if table == "platforms":
                platforms[rec["platform_id"]] = Platform.from_json(rec["descriptor"])
            elif table == "graphs":
                graphs[rec["graph_hash"]] = (lineno, rec["family"], rec["graph"])
            else:
                ms = _positive(rec[measure], where)
                measured.setdefault((rec["graph_hash"], int(rec["batch"])), {}).setdefault(
                    rec["platform_id"], []).append((int(rec["pass_index"]), ms,
                                                    float(rec["iqr_ms"]) / _positive(rec["median_ms"], where)))
        except (KeyError, TypeError, ValueError, ArchrepError) as exc:
            raise DataError(f"{where}: malformed {table} record ({type(exc).__name__}: {exc}); export the "
                            "store again") from None
    for (key, _), by_platform in measured.items():
        unknown = [p for p in by_platform if p not in platforms]
        if key not in graphs or unknown:
            what = f"graph {key}" if key not in graphs else f"platform {unknown[0]!r}"
            raise DataError(f"{path}: a measurement refers to {what}, which the file does not hold; export the "
                            "whole store again")
    rows = sorted((graphs[h][1], h, b) for h, b in measured if graphs[h][1] is not None)
    if not rows:
        raise DataError(f"{path} holds no measurement of a zoo model (a graph stored with its family): profile "
                        f"the zoo with '{BUILD_COMMAND}', then write the file with "
                        f"'archrep latency-dataset export --store zoo_latency.db --out {path}'")
    parsed: dict[str, ArchGraph] = {}
    for _, h, _ in rows:
        if h not in parsed:
            lineno, _, text = graphs[h]
            try:
                parsed[h] = ArchGraph.from_json(text)
            except ArchrepError as exc:
                raise DataError(f"{path}, line {lineno}: graph {h} cannot be read ({exc})") from None
    # one (label, spread, passes) per row and platform: the median over its (first ``passes``) passes
    kept = []
    for _, h, b in rows:
        row = {}
        for p, v in measured[(h, b)].items():
            v = sorted(v)[:passes]
            row[p] = (float(np.median([ms for _, ms, _ in v])), float(np.median([sp for _, _, sp in v])), len(v))
        kept.append(row)
    used = sorted({p for v in kept for p in v})
    column = platform_targets(used)
    families = sorted({f for f, _, _ in rows})
    targets = {column[p]: np.array([v.get(p, (np.nan,))[0] for v in kept]) for p in used}
    for col, (attr, scale, _) in _COSTS.items():
        targets[col] = np.array([parsed[h].attrs.get(attr, np.nan) / scale for _, h, _ in rows], dtype=float)
    targets["batch"] = np.array([b for _, _, b in rows], dtype=float)
    targets[FAMILY_COLUMN] = np.array([families.index(f) for f, _, _ in rows], dtype=float)
    info = {**{column[p]: f"{label} on {platforms[p].template()} [platform {p}]" for p in used},
            **{c: d for c, (_, _, d) in _COSTS.items()}, **_OTHER_INFO}
    spread = {column[p]: float(np.median([v[p][1] for v in kept if p in v])) for p in used}
    meta = {"statistic": statistic, "settings": {column[p]: p for p in used}, "platforms": {p: platforms[p].to_dict() for p in used},
            "families": families, "rel_spread_median": spread,
            "passes_mean": {column[p]: float(np.mean([v[p][2] for v in kept if p in v])) for p in used},
            "label_passes": {column[p]: max(v[p][2] for v in kept if p in v) for p in used},
            "dropped": {"without_family": sum(graphs[h][1] is None for h, _ in measured)},
            "sources": {"export": str(path)}}
    return ArchDataset.from_graphs(name, [f"{h}-b{b}" for _, h, b in rows],
                                   [_at_batch(parsed[h], b) for _, h, b in rows], targets, target_info=info,
                                   default_target=column[used[0]], meta=meta, node_features=True)


def _at_batch(graph: ArchGraph, batch: int) -> ArchGraph:
    """``graph`` with graph attribute ``batch`` = the measured batch (a copy only where they differ), so
    the ``log_batch`` node feature is the batch of the row's measurement."""
    if graph.attrs.get("batch") == batch:
        return graph
    out = graph.copy()
    out.attrs["batch"] = batch
    return out


def build_default(statistic: str = "median") -> ArchDataset:
    """A registered dataset: the package file, or a DataError with the commands that measure it."""
    if not DEFAULT_FILE.is_file():
        raise DataError(f"dataset {NAME!r} is not measured yet: {DEFAULT_FILE} does not exist. Measure the zoo "
                        f"on this machine with '{BUILD_COMMAND}' (hours; rerun to resume), then write the file "
                        f"with '{EXPORT_COMMAND}'; or read another export with "
                        "archrep.data.zoo_latency.from_export(PATH)")
    return from_export(DEFAULT_FILE, statistic=statistic)


def _check_zoo(ds: ArchDataset) -> None:
    if FAMILY_COLUMN not in ds.targets or "settings" not in ds.meta or "families" not in ds.meta:
        raise ArchrepError(f"dataset {ds.name!r} is not a zoo-latency dataset (no {FAMILY_COLUMN!r} column); load "
                           f"it with archrep.data.load({NAME!r}) or archrep.data.zoo_latency.from_export(PATH)")


def row_families(ds: ArchDataset) -> np.ndarray:
    """The model family of every row of a zoo-latency dataset (or of one stacked from it), as strings."""
    _check_zoo(ds)
    return np.asarray(ds.meta["families"], dtype=str)[ds.targets[FAMILY_COLUMN].astype(np.int64)]


def latency_targets(ds: ArchDataset) -> list[str]:
    """The latency targets (one per platform) of a zoo-latency dataset, in file order."""
    _check_zoo(ds)
    return list(ds.meta["settings"])


def stack_platforms(ds: ArchDataset, targets: Sequence[str] | None = None) -> ArchDataset:
    """Rows per (architecture, platform) for the latency ``targets`` (default: all), in the stacked
    format of :mod:`archrep.latency.stacked` that LeDG-Former fits with one platform token per row.

    Rows are platform-major (architectures in dataset order within each), unmeasured ones dropped.
    :data:`~archrep.latency.stacked.TARGET` is the row's latency, :data:`SETTING_COLUMN` the row's
    index into ``meta["platform_settings"]`` (the latency targets), and
    :data:`~archrep.latency.stacked.PLATFORM_COLUMN` its index into ``meta["platform_texts"]``: the
    platform's :meth:`Platform.template` with the row's batch ("... Threads 1 Batch 4"), since a
    measurement setting is the platform at a batch size, as HELP's settings are. The cost and
    family columns and the node features are copied per row.
    (:func:`archrep.latency.stacked.stack_settings` does the same for the real-device datasets,
    whose texts come from the published device table.)
    """
    known = latency_targets(ds)
    targets = list(dict.fromkeys(targets if targets is not None else known))
    bad = [t for t in targets if t not in known]
    if bad or not targets:
        raise ArchrepError(f"dataset {ds.name!r} has no latency target(s) {', '.join(bad) or '(none given)'}; its "
                           f"platforms: {', '.join(known)}")
    platforms = [Platform.from_dict(ds.meta["platforms"][ds.meta["settings"][t]]) for t in targets]
    batch = ds.targets["batch"]
    return stack_columns(ds, targets, lambda i, rows: [platforms[i].template(int(b)) for b in batch[rows]],
                         f"{ds.name}[{'+'.join(targets)}]", {**ds.meta, "platform_settings": targets, "unstacked": known})


register_dataset(DatasetSpec(
    name=NAME, build=lambda data_dir: build_default(), version=VERSION, inputs=lambda data_dir: [DEFAULT_FILE],
    description="latency of the ten model-zoo families measured on this machine (LatencyStore export; "
                "one latency target per platform, FLOPs / memory / params columns, family per row)"))
register_dataset(DatasetSpec(
    name=MIN_NAME, build=lambda data_dir: build_default("min"), version=VERSION,
    inputs=lambda data_dir: [DEFAULT_FILE],
    description="zoo-latency labelled with each measurement's fastest run instead of its median (repeats "
                "better across sessions on a shared machine)"))

__all__ = ["NAME", "MIN_NAME", "STATISTICS", "DEFAULT_FILE", "FAMILY_COLUMN", "SETTING_COLUMN", "BUILD_COMMAND", "EXPORT_COMMAND",
           "platform_targets", "from_export", "build_default", "row_families", "latency_targets", "stack_platforms"]
