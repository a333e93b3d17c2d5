"""Dataset "nb201": all 15,625 NAS-Bench-201 cells with analog-nasbench and official targets.

Keys are the canonical arch strings in ``NB201Space().enumerate()`` order; graphs are in the
8-node ``keep_none`` style.

**analog-nasbench** (always installed) stores its records under 6-tuples of op codes, and does
not document which code means which op nor which edge each tuple position refers to. The
mapping used here was established from the data (see :func:`score_analog_mappings`, checked in
``tests/test_data_nb201.py``):

* codes ``0..4`` = ``skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3``;
* tuple positions = cell edges ``0->1, 0->2, 0->3, 1->2, 1->3, 2->3`` (not the arch-string
  order ``0->1, 0->2, 1->2, 0->3, 1->3, 2->3``).

Evidence: (1) with this mapping the 341 tuples whose baseline accuracy is at chance (10 %) are
exactly the 341 cells with no input->output path, which every mapping that gets 'none' or the
edge order wrong violates (only the mirror-image edge order also passes this check); (2) the
baseline accuracy then agrees with the official NATS-Bench CIFAR-10 test accuracy of the same
arch string with Spearman 0.991 and a mean absolute difference of 0.39 points, against 0.969 /
0.78 for the best alternative among all 720 edge orders x 120 op orders. Every code tuple
appears exactly once, so the mapping is a bijection onto the 15,625 cells.

**Official targets** ``cifar10``, ``cifar100``, ``imagenet16`` come from
``<data_dir>/nb201/nats_bench_test_acc.csv`` when a data folder is given; without it the
dataset records in ``meta["missing_targets"]`` which file is needed and where it comes from.
"""
from __future__ import annotations

import csv
import importlib.util
import itertools
from pathlib import Path
from typing import Sequence

import numpy as np

from archrep.data import DatasetSpec, register_dataset
from archrep.data import safe_pickle
from archrep.data.dataset import ArchDataset
from archrep.data.safe_pickle import Record
from archrep.errors import ArchrepError, DataError, MissingDependencyError
from archrep.spaces.nb201 import EDGES, OPS, NB201Space, arch_to_string, string_to_arch
from archrep.spaces.nb201_cost import NASLIB_EDGES, NASLIB_OPS, naslib_to_arch, nb201_cost_table

VERSION = "1"

#: analog-nasbench op code -> NB201 op name (established from the data, see the module
#: docstring); it is NASLib's convention, the one of ``archrep.spaces.nb201_cost.naslib_to_arch``
ANALOG_CODE_OPS: tuple[str, ...] = NASLIB_OPS
#: the cell edge (source, target) that each position of an analog-nasbench tuple refers to
ANALOG_TUPLE_EDGES: tuple[tuple[int, int], ...] = NASLIB_EDGES

#: the data-folder file with the official accuracies, relative to the data folder
OFFICIAL_CSV = Path("nb201") / "nats_bench_test_acc.csv"
#: official target -> CSV column (test accuracy in %, 200 epochs, NATS-Bench topology `hp=200`)
OFFICIAL_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "imagenet16": "ImageNetTestAccuracy200Epochs",
}
_ARCH_COLUMN = "ArchitectureString"
_OFFICIAL_INFO = {
    "cifar10": "official NAS-Bench-201 CIFAR-10 test accuracy (%), 200 epochs, mean over seeds "
               "(NATS-Bench topology space, hp=200; file nb201/nats_bench_test_acc.csv)",
    "cifar100": "official NAS-Bench-201 CIFAR-100 test accuracy (%), 200 epochs, mean over seeds "
                "(NATS-Bench topology space, hp=200; file nb201/nats_bench_test_acc.csv)",
    "imagenet16": "official NAS-Bench-201 ImageNet16-120 test accuracy (%), 200 epochs, mean over "
                  "seeds (NATS-Bench topology space, hp=200; file nb201/nats_bench_test_acc.csv)",
}

# analog-nasbench record field -> (target name, description)
_ANALOG_SCALARS = {
    "baseline_accuracy": "CIFAR-10 test accuracy (%) of the digitally trained network "
                         "(analog-nasbench's own 200-epoch training; field baseline_accuracy)",
    "ptq_accuracy": "CIFAR-10 test accuracy (%) after post-training quantisation "
                    "(analog-nasbench field ptq_accuracy)",
    "qat_accuracy": "CIFAR-10 test accuracy (%) after quantisation-aware training "
                    "(analog-nasbench field qat_accuracy)",
    "noisy_accuracy": "CIFAR-10 test accuracy (%) of the digital network evaluated with analog "
                      "weight noise injected (analog-nasbench field noisy_accuracy)",
    "analog_accuracy": "CIFAR-10 test accuracy (%) of the hardware-aware trained network on "
                       "simulated analog in-memory-computing hardware (analog-nasbench field "
                       "analog_accuracy)",
}
# drift time in seconds -> target-name suffix
_DRIFT_TIMES = {60: "60s", 3600: "1h", 86400: "1d", 2592000: "30d"}
_DRIFT_WORDS = {60: "60 seconds", 3600: "1 hour", 86400: "1 day", 2592000: "30 days"}

_ANALOG_CLASSES = {
    ("analognasbench.data", "Architecture"): Record,
    ("analognasbench.data", "DriftMeasurement"): Record,
}


# ---------------------------------------------------------------------------- analog-nasbench
def analog_data_path() -> Path:
    """Path of analog-nasbench's ``data.anb``, found without importing the package.

    (Importing ``analognasbench`` pulls in pandas and pkg_resources; only the file is needed.)
    """
    spec = importlib.util.find_spec("analognasbench")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "the 'nb201' dataset needs the analog-nasbench package: pip install 'analog-nasbench>=0.1.3'")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data.anb"
        if path.is_file():
            return path
    raise DataError(
        f"analog-nasbench is installed at {list(spec.submodule_search_locations)} but its data file "
        "data.anb is missing: reinstall it with pip install --force-reinstall analog-nasbench")


def read_analog(path: str | Path | None = None) -> dict[tuple[int, ...], Record]:
    """The analog-nasbench records keyed by their 6-tuple of op codes (restricted unpickler).

    Raises DataError when the file is not a dict of 15,625 records under 6-tuples of codes 0..4.
    """
    path = Path(path) if path is not None else analog_data_path()
    data = safe_pickle.load(path, _ANALOG_CLASSES)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a dict of architecture records, found {type(data).__name__}")
    for key, rec in data.items():
        if not (isinstance(key, tuple) and len(key) == 6 and all(isinstance(c, int) and 0 <= c < 5 for c in key)):
            raise DataError(f"{path}: key {key!r} is not a 6-tuple of op codes 0..4")
        if not isinstance(rec, Record):
            raise DataError(f"{path}: the record of {key} is a {type(rec).__name__}, not an Architecture")
    if len(data) != len(OPS) ** len(EDGES):
        raise DataError(f"{path}: {len(data)} records, expected all {len(OPS) ** len(EDGES)} NB201 cells")
    return data


def _cell_index(op_idx: np.ndarray) -> np.ndarray:
    """Row in ``NB201Space().enumerate()`` order of cells given as (N, 6) OPS indices in arch-string order."""
    powers = len(OPS) ** np.arange(len(EDGES) - 1, -1, -1)
    return op_idx @ powers


def _has_path(op_idx: np.ndarray) -> np.ndarray:
    """True for cells (N, 6 OPS indices, arch-string order) with an input->output path of non-'none' edges."""
    live = op_idx != OPS.index("none")
    reach = [np.ones(len(op_idx), dtype=bool)] + [np.zeros(len(op_idx), dtype=bool) for _ in range(3)]
    for pos in sorted(range(len(EDGES)), key=lambda k: EDGES[k][1]):
        u, v = EDGES[pos]
        reach[v] |= reach[u] & live[:, pos]
    return reach[3]


def all_edge_orders() -> dict[str, tuple[tuple[int, int], ...]]:
    """Every assignment of the 6 cell edges to the 6 tuple positions (720), named by their edges."""
    return {"".join(f"{u}{v}" for u, v in p): p for p in itertools.permutations(EDGES)}


#: the edge orders a tuple encoding plausibly uses: NB201 arch-string order and NASLib's order
PLAUSIBLE_EDGE_ORDERS: dict[str, tuple[tuple[int, int], ...]] = {
    "arch-string": EDGES,
    "naslib": NASLIB_EDGES,
}


def score_analog_mappings(codes: np.ndarray, baseline: np.ndarray, official: np.ndarray | None = None,
                          edge_orders: dict[str, Sequence[tuple[int, int]]] | None = None,
                          chance: float = 10.0, tol: float = 0.5) -> list[dict]:
    """Score every (edge order, op order) reading of analog-nasbench's code tuples against the evidence.

    ``codes`` (N, 6) are the code tuples, ``baseline`` their baseline accuracy; ``official`` is
    the official CIFAR-10 accuracy of all 15,625 cells in ``NB201Space().enumerate()`` order (or
    None). For each of the 120 op orders x ``edge_orders`` (default
    :data:`PLAUSIBLE_EDGE_ORDERS`; :func:`all_edge_orders` for all 720) the row reports:

    * ``chance_mismatch``: how many tuples disagree on "baseline within ``tol`` of ``chance``"
      versus "the mapped cell has no input->output path" (0 for a correct mapping: such cells
      output zeros and train to chance);
    * ``bijective``: whether the tuples map onto 15,625 distinct cells;
    * ``spearman`` / ``mean_abs_diff``: agreement of baseline with ``official`` of the mapped
      cell (None without ``official``).

    Rows are sorted best first: fewest mismatches, then highest Spearman.
    """
    from scipy.stats import rankdata

    codes = np.asarray(codes, dtype=np.int64)
    baseline = np.asarray(baseline, dtype=np.float64)
    at_chance = np.abs(baseline - chance) <= tol
    if official is not None:
        official = np.asarray(official, dtype=np.float64)
        r_base = rankdata(baseline)
        r_base = (r_base - r_base.mean()) / r_base.std()
        r_off = rankdata(official)
    rows = []
    for name, edges in (edge_orders or PLAUSIBLE_EDGE_ORDERS).items():
        pos_of_edge = {tuple(e): k for k, e in enumerate(edges)}
        cols = [pos_of_edge[e] for e in EDGES]  # arch-string position j <- tuple position cols[j]
        by_edge = codes[:, cols]
        mismatch: dict[int, int] = {}  # connectivity depends only on which code is 'none'
        for perm in itertools.permutations(range(len(OPS))):
            op_idx = np.asarray(perm)[by_edge]  # code c -> OPS[perm[c]]
            cell = _cell_index(op_idx)
            none_code = perm.index(OPS.index("none"))
            if none_code not in mismatch:
                mismatch[none_code] = int(np.sum(at_chance != ~_has_path(op_idx)))
            row = {
                "edge_order": name, "edges": tuple(tuple(e) for e in edges),
                "code_ops": tuple(OPS[k] for k in perm),
                "chance_mismatch": mismatch[none_code],
                "bijective": bool(np.bincount(cell, minlength=len(OPS) ** 6).max() == 1),
                "spearman": None, "mean_abs_diff": None,
            }
            if official is not None:
                r = r_off[cell]
                row["spearman"] = float(np.mean(r_base * (r - r.mean()) / r.std()))
                row["mean_abs_diff"] = float(np.mean(np.abs(baseline - official[cell])))
            rows.append(row)
    rows.sort(key=lambda r: (r["chance_mismatch"], -(r["spearman"] if r["spearman"] is not None else 0.0)))
    return rows


# ---------------------------------------------------------------------------- official CSV
def read_official_csv(path: str | Path) -> dict[str, dict[str, float]]:
    """Official accuracies by canonical arch string: ``{arch: {"cifar10": .., "cifar100": .., "imagenet16": ..}}``.

    Also usable for its row order (NB201 index order). Raises DataError naming the file and the
    missing column, bad number or duplicate arch.
    """
    path = Path(path)
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    out: dict[str, dict[str, float]] = {}
    with fh:
        reader = csv.DictReader(fh)
        need = [*OFFICIAL_COLUMNS.values(), _ARCH_COLUMN]
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(need)}")
        for line, row in enumerate(reader, start=2):
            try:
                key = arch_to_string(string_to_arch(row[_ARCH_COLUMN]))
                vals = {t: float(row[c]) for t, c in OFFICIAL_COLUMNS.items()}
            except (ArchrepError, ValueError, TypeError) as exc:
                raise DataError(f"{path}, line {line}: {exc}") from None
            if key in out:
                raise DataError(f"{path}, line {line}: architecture {key} appears twice")
            out[key] = vals
    return out


def _missing_official_note() -> str:
    return (f"needs {OFFICIAL_CSV.as_posix()} in the data folder: set ARCHREP_DATA_DIR=/path/to/data "
            f"(or pass data_dir=...) so that $ARCHREP_DATA_DIR/{OFFICIAL_CSV.as_posix()} exists, then "
            "reload. The file holds NAS-Bench-201 test accuracies at 200 epochs (NATS-Bench topology "
            "space, hp=200) with columns " + ", ".join([*OFFICIAL_COLUMNS.values(), _ARCH_COLUMN])
            + "; source: v-tao/nats-bench-landscape nats_bench.csv, or export it from the NATS-Bench "
            "API (create(None, 'tss'), hp='200').")


# ---------------------------------------------------------------------------- the dataset
def inputs(data_dir: Path | None) -> list[Path]:
    """Raw files the build reads (for the cache fingerprint)."""
    files = [analog_data_path()]
    if data_dir is not None:
        files.append(Path(data_dir) / OFFICIAL_CSV)
    return files


def build(data_dir: Path | None) -> ArchDataset:
    """Build the "nb201" dataset (see the module docstring)."""
    space = NB201Space("keep_none")
    archs = list(space.enumerate())
    keys = [arch_to_string(a) for a in archs]
    row = {k: i for i, k in enumerate(keys)}
    n = len(archs)

    analog_path = analog_data_path()
    records = read_analog(analog_path)
    targets: dict[str, np.ndarray] = {}
    info: dict[str, str] = {}
    fields = {f: f for f in _ANALOG_SCALARS}
    for sec, suffix in _DRIFT_TIMES.items():
        fields[f"analog_drift_{suffix}"] = f"analog_drift_{sec}"
        info[f"analog_drift_{suffix}"] = (
            f"CIFAR-10 test accuracy (%) of the hardware-aware trained network on simulated analog "
            f"hardware after {_DRIFT_WORDS[sec]} of conductance drift (mean over repeats; "
            f"analog-nasbench field analog_drift_{sec}.value)")
    info.update(_ANALOG_SCALARS)
    for t in fields:
        targets[t] = np.full(n, np.nan)
    seen = np.zeros(n, dtype=bool)
    for codes, rec in records.items():
        i = row[arch_to_string(naslib_to_arch(codes))]
        if seen[i]:
            raise DataError(f"{analog_path}: two code tuples map to cell {keys[i]}")
        seen[i] = True
        for t, field_name in fields.items():
            value = getattr(rec, field_name, None)
            if isinstance(value, Record):
                value = getattr(value, "value", None)
            if not isinstance(value, (int, float)):
                raise DataError(f"{analog_path}: record {codes} has no numeric {field_name!r} ({value!r})")
            targets[t][i] = float(value)

    cost = nb201_cost_table(num_classes=10, input_size=32)  # NB201Space.enumerate() order, like keys
    targets["params"] = cost["params"]
    targets["flops"] = cost["flops"]
    info["params"] = "parameters (millions) of the CIFAR-10 network (computed, archrep.spaces.nb201_cost)"
    info["flops"] = ("FLOPs (millions) of the CIFAR-10 network on 32x32 inputs, NB201's counter: conv "
                     "and classifier multiply-accumulates (computed, archrep.spaces.nb201_cost)")

    meta: dict = {"sources": {"analog": f"analog-nasbench {analog_path.name}"},
                  "analog_code_ops": list(ANALOG_CODE_OPS),
                  "analog_tuple_edges": [list(e) for e in ANALOG_TUPLE_EDGES],
                  "graph_style": "keep_none"}
    csv_path = Path(data_dir) / OFFICIAL_CSV if data_dir is not None else None
    if csv_path is not None and csv_path.is_file():
        official = read_official_csv(csv_path)
        absent = [k for k in keys if k not in official]
        if absent:
            raise DataError(f"{csv_path}: {len(absent)} of the {n} NB201 cells are missing, e.g. {absent[0]}")
        for t in OFFICIAL_COLUMNS:
            targets[t] = np.array([official[k][t] for k in keys], dtype=np.float64)
            info[t] = _OFFICIAL_INFO[t]
        meta["sources"]["official"] = OFFICIAL_CSV.as_posix()
    else:
        meta["missing_targets"] = {t: _missing_official_note() for t in OFFICIAL_COLUMNS}

    graphs = [space.to_graph(a) for a in archs]
    return ArchDataset.from_graphs("nb201", keys, graphs, targets, op_vocab=NB201Space.op_vocab,
                                   space="nb201", default_target="baseline_accuracy",
                                   target_info=info, meta=meta)


SPEC = register_dataset(DatasetSpec(
    name="nb201", build=build, version=VERSION, inputs=inputs,
    description="NAS-Bench-201: 15,625 cells; analog-nasbench CIFAR-10 accuracies (digital, PTQ, "
                "QAT, noisy, analog, drift), params/FLOPs, and the official CIFAR-10/100/"
                "ImageNet16-120 test accuracies when the data folder has them",
))


def official_index_order(path: str | Path) -> list[str]:
    """Canonical arch strings in the row order of an official CSV (NB201 index order)."""
    return list(read_official_csv(path))


__all__ = ["ANALOG_CODE_OPS", "ANALOG_TUPLE_EDGES", "OFFICIAL_CSV", "OFFICIAL_COLUMNS", "SPEC",
           "analog_data_path", "read_analog", "all_edge_orders",
           "PLAUSIBLE_EDGE_ORDERS", "score_analog_mappings", "read_official_csv",
           "official_index_order", "build", "inputs"]
