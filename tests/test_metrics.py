"""Metrics against values computed by hand on small vectors."""
import math
import warnings

import numpy as np
import pytest

from archrep.errors import ArchrepError, UnknownNameError
from archrep.train import metrics as M


def test_kendall_tau_hand_cases():
    # 6 pairs, only (1, 2) discordant: (5 - 1) / 6
    assert M.kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert M.kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert M.kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_kendall_tau_b_with_ties():
    # y has one tied pair (1, 2): C = 5, D = 0, T_y = 1, T_p = 0 -> 5 / sqrt(6 * 5)
    assert M.kendall_tau([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(30))
    # ties on both sides in the same pair count nowhere: C = 5, D = 0 -> 5 / sqrt(5 * 5)
    assert M.kendall_tau([1, 2, 2, 3], [1, 2, 2, 3]) == pytest.approx(1.0)


def test_spearman_hand_case_and_ties():
    # rank differences 0, 1, 1, 0: 1 - 6 * 2 / (4 * 15)
    assert M.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert M.spearman([1, 2, 3, 4], [8, 6, 4, 2]) == pytest.approx(-1.0)
    # average ranks [1, 2.5, 2.5, 4] vs [1, 2, 3, 4]: Pearson of the ranks
    expected = np.corrcoef([1, 2.5, 2.5, 4], [1, 2, 3, 4])[0, 1]
    assert M.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(expected)


def test_constant_input_gives_nan_correlation():
    with warnings.catch_warnings():  # scipy may warn about the constant input
        warnings.simplefilter("ignore")
        assert math.isnan(M.kendall_tau([1, 2, 3], [5, 5, 5]))
        assert math.isnan(M.spearman([5, 5, 5], [1, 2, 3]))


def test_mape_is_a_fraction():
    assert M.mape([100, 200], [110, 180]) == pytest.approx(0.1)
    assert M.mape([-100], [-150]) == pytest.approx(0.5)
    with pytest.raises(ArchrepError, match="zero"):
        M.mape([0, 1], [1, 1])


def test_acc10_inclusive_threshold():
    # relative errors 0.1, 0.25, 0 -> 2 of 3 within 10 %
    assert M.acc10([100, 200, 50], [110, 250, 50]) == pytest.approx(2 / 3)
    assert M.acc_at(0.3)([100, 200, 50], [110, 250, 50]) == pytest.approx(1.0)
    with pytest.raises(ArchrepError):
        M.acc_at(0)


def test_precision_at_k():
    y = [5, 4, 3, 2, 1]
    p = [5, 3, 4, 1, 2]
    assert M.precision_at_k(y, p, 1) == 1.0
    assert M.precision_at_k(y, p, 2) == 0.5  # top-2 true {0, 1}, predicted {0, 2}
    assert M.precision_at_k(y, p, 3) == 1.0
    assert M.precision_at_k(y, [1, 2, 3, 4, 5], 2) == 0.0
    with pytest.raises(ArchrepError):
        M.precision_at_k(y, p, 6)
    with pytest.raises(ArchrepError):
        M.precision_at_k(y, p, 0)


def test_precision_at_pct_uses_floor_with_minimum_one():
    y = np.arange(250, dtype=float)
    p = y.copy()
    p[248] = -1  # the second-best architecture is predicted worst
    assert M.precision_at_pct(y, p, 1) == 0.5  # K = floor(2.5) = 2: {249} of {249, 248}
    assert M.METRICS["precision_at_1pct"](y, p) == 0.5
    assert M.precision_at_pct(y[:50], p[:50], 1) == 1.0  # K = max(1, floor(0.5)) = 1
    # K = floor(10 % of 250) = 25: 24 of the true top 25 are in the predicted top 25
    assert M.METRICS["precision_at_10pct"](y, p) == pytest.approx(24 / 25)
    with pytest.raises(ArchrepError):
        M.precision_at_pct(y, p, 0)


def test_nan_labels_dropped_nan_predictions_rejected():
    y = [1.0, np.nan, 3.0, 4.0]
    assert M.kendall_tau(y, [1.0, 100.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert M.mape([100.0, np.nan], [110.0, 5.0]) == pytest.approx(0.1)
    with pytest.raises(ArchrepError, match="NaN"):
        M.kendall_tau([1, 2, 3], [1, np.nan, 3])
    with pytest.raises(ArchrepError, match="values"):
        M.spearman([1, 2, 3], [1, 2])
    with pytest.raises(ArchrepError, match="at least 2"):
        M.kendall_tau([1.0, np.nan], [1.0, 2.0])


def test_registry_names_and_evaluate():
    assert list(M.METRICS) == ["kendall_tau", "spearman", "mape", "acc10", "precision_at_1pct",
                               "precision_at_5pct", "precision_at_10pct"]
    out = M.evaluate([1, 2, 3, 4], [4, 3, 2, 1], ["kendall_tau", "spearman", "mape"])
    assert out["kendall_tau"] == pytest.approx(-1.0)
    assert out["spearman"] == pytest.approx(-1.0)
    assert out["mape"] == pytest.approx(np.mean([3, 0.5, 1 / 3, 0.75]))
    assert M.evaluate([1, 2, 3], [1, 2, 3], "kendall_tau") == {"kendall_tau": pytest.approx(1.0)}
    with pytest.raises(UnknownNameError, match="kendall_tau"):
        M.evaluate([1, 2], [1, 2], ["kendal_tau"])


# ---------------------------------------------------------------------------- generation metrics
def test_generation_metrics_hand_case():
    # 8 samples, 2 invalid; the 6 valid keys are a, a, b, c, c, d
    keys = ["a", None, "a", "b", None, "c", "c", "d"]
    train = {"a", "x"}
    assert M.validity(keys) == pytest.approx(6 / 8)
    assert M.uniqueness(keys) == pytest.approx(4 / 6)  # {a, b, c, d}
    assert M.novelty(keys, train) == pytest.approx(4 / 6)  # b, c, c, d are not in train
    assert M.abs_uniqueness(keys) == pytest.approx(4 / 8)
    assert M.abs_novelty(keys, train) == pytest.approx(3 / 8)  # {b, c, d}
    assert M.generation_metrics(keys, ["a", "x"]) == {
        "validity": pytest.approx(0.75), "uniqueness": pytest.approx(4 / 6), "abs_uniqueness": 0.5,
        "novelty": pytest.approx(4 / 6), "abs_novelty": pytest.approx(3 / 8)}
    assert set(M.generation_metrics(keys)) == {"validity", "uniqueness", "abs_uniqueness"}


def test_generation_metrics_edge_cases():
    assert M.validity([None, None]) == 0.0
    assert math.isnan(M.uniqueness([None, None]))
    assert math.isnan(M.novelty([None], {"a"}))
    assert M.abs_novelty([None], {"a"}) == 0.0
    assert M.novelty(["a", "a"], set()) == 1.0
    with pytest.raises(ArchrepError, match="N_gen = 0"):
        M.validity([])


def test_reconstruction_accuracy_exact_match():
    ops = np.array([[0, 1, 2, -1], [0, 2, 1, 3]])
    adj = np.zeros((2, 4, 4), dtype=int)
    adj[0, 0, 1] = adj[0, 1, 2] = 1
    adj[1, 0, 1] = adj[1, 1, 2] = adj[1, 2, 3] = 1
    assert M.reconstruction_accuracy(ops, adj, ops.copy(), adj.astype(float) * 0.9) == 1.0
    bad_ops = ops.copy()
    bad_ops[1, 3] = 2  # one wrong op in graph 1
    assert M.reconstruction_accuracy(ops, adj, bad_ops, adj) == 0.5
    bad_adj = adj.copy()
    bad_adj[0, 0, 2] = 1  # one extra edge in graph 0
    assert M.reconstruction_accuracy(ops, adj, ops, bad_adj) == 0.5
    lower = adj.copy()
    lower[0, 2, 0] = 1  # the lower triangle is ignored
    assert M.reconstruction_accuracy(ops, adj, ops, lower) == 1.0
    with pytest.raises(ArchrepError):
        M.reconstruction_accuracy(ops, adj, ops[:1], adj[:1])


def test_paired_spearman_bootstrap_centres_on_the_observed_difference():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    good, bad = truth + 0.3 * rng.normal(size=200), truth + 3.0 * rng.normal(size=200)
    diff = M.paired_spearman_bootstrap(truth, good, bad, n_resamples=400)
    observed = M.spearman(truth, good) - M.spearman(truth, bad)
    assert diff.shape == (400,)
    assert np.median(diff) == pytest.approx(observed, abs=0.05)
    assert (diff > 0).all()  # the better predictor wins on every resample here
    same = M.paired_spearman_bootstrap(truth, good, good, n_resamples=50)
    assert np.allclose(same, 0.0)
    # two seeds: each resample's difference is the mean over seeds
    two = M.paired_spearman_bootstrap(truth, np.stack([good, good]), np.stack([bad, good]), n_resamples=400)
    assert np.median(two) == pytest.approx(observed / 2, abs=0.05)
    with pytest.raises(ArchrepError):
        M.paired_spearman_bootstrap(truth, good[:10], bad)


def test_spearman_bootstrap_brackets_the_observed_value():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=300)
    pred = truth + rng.normal(size=300)
    boot = M.spearman_bootstrap(truth, pred, n_resamples=500)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    assert lo < M.spearman(truth, pred) < hi
    assert 0.02 < hi - lo < 0.3  # about 4 standard errors of a Spearman on 300 rows
    with pytest.raises(ArchrepError):
        M.spearman_bootstrap(truth[:2], pred[:2])
