"""Every evaluation metric of archrep, each defined once (DESIGN.md, "Metrics in one module").

All metrics take ``(y_true, y_pred)``: two 1-D arrays of equal length, true target values and
predictions. **NaN handling** (the same for every metric): a NaN in ``y_true`` marks a missing
label and that row is dropped before computing; a NaN or infinity in ``y_pred`` is an error
(a predictor must not produce one: it signals a diverged model), as is a length mismatch.

``METRICS`` maps the names used in results records (``kendall_tau``, ``spearman``, ``mape``,
``acc10``, ``precision_at_1pct``, ``precision_at_5pct``, ``precision_at_10pct``) to functions;
``evaluate(y_true, y_pred, names)`` computes several at once; ``spearman_bootstrap`` and
``paired_spearman_bootstrap`` give the sampling spread of a Spearman, and of the difference of
two predictors' Spearman on one set of rows.

**Generation metrics** (methods.md §4, Arch-LLM / arch2vec) take other inputs: one identity key
per generated sample (e.g. an isomorphism hash; ``None`` marks an invalid sample), N_gen samples
in all, and for novelty the keys of the training set. With V = #valid samples, U = the set of
distinct valid keys and T the training keys:

* ``validity`` = V / N_gen;
* ``uniqueness`` = |U| / V;
* ``novelty`` = #(valid samples whose key is not in T) / V (per sample, duplicates counted);
* ``abs_uniqueness`` = |U| / N_gen (valid and unique, normalised by all samples);
* ``abs_novelty`` = |U \\ T| / N_gen (valid, unique and novel, normalised by all samples);
* ``reconstruction_accuracy``: the fraction of graphs decoded exactly (every op and every
  upper-triangular adjacency entry equal).

The ratios over V are NaN when no sample is valid; N_gen = 0 is an error.
``generation_metrics(keys, reference)`` computes all five at once.
"""
from __future__ import annotations

import difflib
import math
from fractions import Fraction
from typing import Callable, Iterable

import numpy as np
from scipy import stats

from archrep.errors import ArchrepError, UnknownNameError


def _clean(y_true, y_pred, metric: str, min_rows: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Validate and drop rows whose label is NaN (see the module docstring)."""
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ArchrepError(f"{metric}: y_true has {t.size} values but y_pred has {p.size}; "
                           "pass one prediction per architecture")
    bad = ~np.isfinite(p)
    if bad.any():
        raise ArchrepError(f"{metric}: y_pred has {int(bad.sum())} NaN/inf values out of {p.size}; "
                           "the predictor diverged (lower the learning rate or check its inputs)")
    keep = ~np.isnan(t)
    t, p = t[keep], p[keep]
    if t.size < min_rows:
        raise ArchrepError(f"{metric}: needs at least {min_rows} labelled rows, got {t.size}")
    return t, p


def kendall_tau(y_true, y_pred) -> float:
    """Kendall rank correlation, variant tau-b (ties accounted for).

    tau_b = (C - D) / sqrt((C + D + T_t) (C + D + T_p)), over all pairs i < j: C concordant
    pairs, D discordant pairs, T_t pairs tied only in ``y_true``, T_p pairs tied only in
    ``y_pred`` (pairs tied in both count nowhere). In [-1, 1]; identical order gives 1, reversed
    order -1. NaN when either input is constant (the denominator is 0). O(N log N) via scipy.
    """
    t, p = _clean(y_true, y_pred, "kendall_tau", min_rows=2)
    return float(stats.kendalltau(t, p, variant="b").statistic)


def spearman(y_true, y_pred) -> float:
    """Spearman rank correlation: the Pearson correlation of the ranks of ``y_true`` and
    ``y_pred``, tied values sharing their average rank. In [-1, 1]; NaN when either input is
    constant."""
    t, p = _clean(y_true, y_pred, "spearman", min_rows=2)
    return float(stats.spearmanr(t, p).statistic)


def _row_spearman(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Spearman of each row pair of two (R, n) arrays (average ranks for ties; NaN for a constant row)."""
    rt, rp = stats.rankdata(t, axis=1), stats.rankdata(p, axis=1)
    rt -= rt.mean(1, keepdims=True)
    rp -= rp.mean(1, keepdims=True)
    den = np.sqrt((rt ** 2).sum(1) * (rp ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rt * rp).sum(1) / np.where(den > 0, den, 1.0), np.nan)


def spearman_bootstrap(y_true, pred, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of spearman(y_true, pred), resampling the rows (architectures) with
    replacement. ``pred`` may be an (S, n) array (S seeds of scores of the same n rows): each
    resample's value is then the mean over the seeds. The resampled rows depend only on ``seed``
    and n, so two calls with one seed resample alike. Returns ``n_resamples`` values (NaN where a
    resample is constant)."""
    t = np.asarray(y_true, dtype=float)
    p = np.atleast_2d(np.asarray(pred, dtype=float))
    if t.ndim != 1 or p.ndim != 2 or p.shape[1] != t.size:
        raise ArchrepError(f"spearman_bootstrap: y_true has shape {t.shape}, predictions {p.shape}; "
                           "give one row of n values per seed for n labels")
    if t.size < 3 or not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ArchrepError("spearman_bootstrap: needs at least 3 rows and finite values only")
    idx = np.random.default_rng(seed).integers(0, t.size, size=(n_resamples, t.size))
    return np.mean([_row_spearman(t[idx], row[idx]) for row in p], axis=0)


def paired_spearman_bootstrap(y_true, pred_a, pred_b, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of spearman(y_true, pred_a) - spearman(y_true, pred_b) on the same
    resampled rows for both predictors, so that the spread is that of the *difference* of two
    correlations measured on one set (shapes as :func:`spearman_bootstrap`)."""
    if np.shape(pred_a) != np.shape(pred_b):
        raise ArchrepError(f"paired_spearman_bootstrap: predictions of shapes {np.shape(pred_a)} and "
                           f"{np.shape(pred_b)}; score the same rows with both")
    return (spearman_bootstrap(y_true, pred_a, n_resamples, seed)
            - spearman_bootstrap(y_true, pred_b, n_resamples, seed))


def _relative_error(t: np.ndarray, p: np.ndarray, metric: str) -> np.ndarray:
    zero = t == 0
    if zero.any():
        raise ArchrepError(f"{metric}: y_true has {int(zero.sum())} zero values; the relative error "
                           "|y_pred - y_true| / |y_true| is undefined there (use a metric without division)")
    return np.abs(p - t) / np.abs(t)


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error as a **fraction, not %**: mean_i |y_pred_i - y_true_i| / |y_true_i|
    (0.05 means 5 %). Lower is better. A zero in ``y_true`` is an error (division by zero)."""
    t, p = _clean(y_true, y_pred, "mape")
    return float(_relative_error(t, p, "mape").mean())


def acc_at(threshold: float) -> Callable[[np.ndarray, np.ndarray], float]:
    """The metric Acc(threshold): the fraction of rows with |y_pred - y_true| / |y_true| <= threshold.

    ``threshold`` is a fraction (0.1 for the NNLQP "Acc(10%)"); the result is a fraction in
    [0, 1]. A zero in ``y_true`` is an error.
    """
    if not threshold > 0:
        raise ArchrepError(f"acc_at: threshold must be a positive fraction (0.1 for 10 %), got {threshold!r}")

    def acc(y_true, y_pred) -> float:
        t, p = _clean(y_true, y_pred, f"acc@{threshold:g}")
        return float(np.mean(_relative_error(t, p, f"acc@{threshold:g}") <= threshold))

    acc.__name__ = f"acc_at_{threshold:g}"
    acc.__doc__ = f"Fraction of rows whose relative error |y_pred - y_true| / |y_true| is <= {threshold:g}."
    return acc


#: Acc(10%): fraction of rows within 10 % relative error (NNLQP, LeDG-Former)
acc10 = acc_at(0.10)


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values; ties broken by the lower index (stable sort)."""
    return np.argsort(-values, kind="stable")[:k]


def precision_at_k(y_true, y_pred, k: int) -> float:
    """P@K = |top-K by y_pred ∩ top-K by y_true| / K.

    "Top" means the **largest** values (accuracy-like targets; negate both arrays for latency).
    Ties are broken by the lower row index, so the result is deterministic. ``k`` must be in
    [1, N] where N counts the labelled rows. In [0, 1].
    """
    t, p = _clean(y_true, y_pred, "precision_at_k")
    k = int(k)
    if not 1 <= k <= t.size:
        raise ArchrepError(f"precision_at_k: k={k} must be between 1 and the {t.size} labelled rows")
    hits = np.intersect1d(_top_k(t, k), _top_k(p, k), assume_unique=True).size
    return hits / k


def precision_at_pct(y_true, y_pred, pct: float) -> float:
    """P@K with K = max(1, floor(pct / 100 * N)), N = number of labelled rows (FGP/FlowerFormer:
    pct in {1, 5, 10, 50, 100}). ``floor`` is computed exactly (pct parsed as a decimal), so
    1 % of 15,625 gives K = 156. See :func:`precision_at_k`."""
    if not 0 < pct <= 100:
        raise ArchrepError(f"precision_at_pct: pct must be in (0, 100], got {pct!r}")
    t, p = _clean(y_true, y_pred, "precision_at_pct")
    k = max(1, math.floor(Fraction(str(pct)) * t.size / 100))
    return precision_at_k(t, p, k)


def _precision_pct(pct: float) -> Callable[[np.ndarray, np.ndarray], float]:
    def metric(y_true, y_pred) -> float:
        return precision_at_pct(y_true, y_pred, pct)

    metric.__name__ = f"precision_at_{pct:g}pct"
    metric.__doc__ = f"P@K with K = max(1, floor({pct:g} % of N)); see precision_at_pct."
    return metric


#: metric name (as used in results records) -> function(y_true, y_pred) -> float
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "kendall_tau": kendall_tau,
    "spearman": spearman,
    "mape": mape,
    "acc10": acc10,
    "precision_at_1pct": _precision_pct(1),
    "precision_at_5pct": _precision_pct(5),
    "precision_at_10pct": _precision_pct(10),
}


def get(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """The metric called ``name``; an unknown name lists the valid ones."""
    try:
        return METRICS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(METRICS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(f"unknown metric {name!r}.{hint} Valid metrics: {', '.join(METRICS)}") from None


def evaluate(y_true, y_pred, names: Iterable[str] = ("kendall_tau", "spearman")) -> dict[str, float]:
    """``{name: metric(y_true, y_pred)}`` for each name (all names are checked before any work)."""
    names = [n.strip() for n in ([names] if isinstance(names, str) else names)]
    fns = {n: get(n) for n in names}
    return {n: fn(y_true, y_pred) for n, fn in fns.items()}


# ---------------------------------------------------------------------------- generation metrics
def _gen_keys(keys, metric: str) -> tuple[int, list]:
    keys = list(keys)
    if not keys:
        raise ArchrepError(f"{metric}: no generated samples (N_gen = 0); pass one key per sample, None if invalid")
    return len(keys), [k for k in keys if k is not None]


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def validity(keys) -> float:
    """Fraction of generated samples that are valid: #(keys not None) / N_gen."""
    n, valid = _gen_keys(keys, "validity")
    return len(valid) / n


def uniqueness(keys) -> float:
    """#distinct valid keys / #valid samples; NaN when no sample is valid."""
    _, valid = _gen_keys(keys, "uniqueness")
    return _ratio(len(set(valid)), len(valid))


def novelty(keys, reference) -> float:
    """#valid samples whose key is not in ``reference`` (the training set's keys) / #valid samples,
    duplicates counted per sample; NaN when no sample is valid."""
    _, valid = _gen_keys(keys, "novelty")
    ref = reference if isinstance(reference, (set, frozenset, dict)) else set(reference)
    return _ratio(sum(k not in ref for k in valid), len(valid))


def abs_uniqueness(keys) -> float:
    """Absolute uniqueness (Arch-LLM): #distinct valid keys / N_gen (all samples)."""
    n, valid = _gen_keys(keys, "abs_uniqueness")
    return len(set(valid)) / n


def abs_novelty(keys, reference) -> float:
    """Absolute novelty (Arch-LLM): #distinct valid keys not in ``reference`` / N_gen (all samples)."""
    n, valid = _gen_keys(keys, "abs_novelty")
    ref = reference if isinstance(reference, (set, frozenset, dict)) else set(reference)
    return len(set(valid) - set(ref)) / n


def generation_metrics(keys, reference=None) -> dict[str, float]:
    """``validity``, ``uniqueness``, ``abs_uniqueness`` and, when ``reference`` (training keys) is
    given, ``novelty`` and ``abs_novelty`` of the samples' ``keys`` (None = invalid)."""
    keys = list(keys)
    out = {"validity": validity(keys), "uniqueness": uniqueness(keys), "abs_uniqueness": abs_uniqueness(keys)}
    if reference is not None:
        ref = set(reference)
        out["novelty"] = novelty(keys, ref)
        out["abs_novelty"] = abs_novelty(keys, ref)
    return out


def reconstruction_accuracy(ops_true, adj_true, ops_pred, adj_pred) -> float:
    """Exact whole-graph match: the fraction of graphs whose decoded ops (B, M) equal the true
    ones in every slot (padding included, e.g. -1) and whose adjacency (B, M, M) equals the true
    one on every strict upper-triangular entry (entries compared as ``!= 0``; the lower triangle
    of a DAG in topological order is ignored, as in arch2vec). In [0, 1]."""
    ot, op = np.asarray(ops_true), np.asarray(ops_pred)
    at, ap = np.asarray(adj_true), np.asarray(adj_pred)
    if ot.ndim != 2 or ot.shape != op.shape:
        raise ArchrepError(f"reconstruction_accuracy: ops must both be (B, M) arrays, got {ot.shape} and {op.shape}")
    b, m = ot.shape
    if at.shape != (b, m, m) or ap.shape != (b, m, m):
        raise ArchrepError(f"reconstruction_accuracy: adjacencies must be ({b}, {m}, {m}), got {at.shape} and {ap.shape}")
    if b == 0:
        raise ArchrepError("reconstruction_accuracy: no graphs")
    iu, ju = np.triu_indices(m, k=1)
    ok = (ot == op).all(axis=1) & ((at[:, iu, ju] != 0) == (ap[:, iu, ju] != 0)).all(axis=1)
    return float(ok.mean())
