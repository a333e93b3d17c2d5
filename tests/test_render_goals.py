"""The README's verdict on issue 4's goal is computed from the records, never typed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _render():
    spec = importlib.util.spec_from_file_location("render_readme_script", ROOT / "benchmarks" / "render_readme.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _rec(dataset, pretrain, tau, p1, std=0.01, epochs=50):
    return {"task": "pretraining", "dataset": dataset, "encoder": "gin", "model_variant": "default",
            "pretrain": pretrain, "pretrain_epochs": None if pretrain == "none" else epochs, "ratio": 0.01, "runs": 9, "kendall_tau_mean": tau, "kendall_tau_std": std,
            "precision_at_1pct_mean": p1, "precision_at_1pct_std": std, "git_commit": "abc", "machine": "m"}


def test_goal_table_separates_a_clear_gain_from_noise_and_a_loss(tmp_path):
    recs = [_rec("a", "none", 0.50, 0.10), _rec("a", "autoencoder", 0.51, 0.11),
            _rec("a", "fgp", 0.60, 0.20),  # far above both: a gain beyond noise
            _rec("a", "fgp-std", 0.512, 0.112),  # above both, by less than twice the standard error
            _rec("b", "none", 0.50, 0.10), _rec("b", "autoencoder", 0.40, 0.10),
            _rec("b", "fgp", 0.45, 0.12),  # below none in tau
            _rec("c", "none", 0.5, 0.1), _rec("c", "fgp", 0.9, 0.9),  # no autoencoder: no verdict
            _rec("c", "autoencoder", 0.4, 0.1, epochs=200)]  # ... at fgp's length of pre-training
    (tmp_path / "pretraining.json").write_text(json.dumps(recs))
    render = _render()
    render.RESULTS = tmp_path
    table = render.pretraining_goal_table()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in table.splitlines() if line.startswith("| a ") or line.startswith("| b ") or line.startswith("| c ")}
    assert set(rows) == {"a", "b"}
    assert rows["a"][2] == "50" and rows["a"][5] == "yes" and rows["a"][8] == "within noise"
    assert rows["a"][3] == "+0.100 ± 0.005 / +0.090 ± 0.005"
    assert rows["b"][5] == "no" and rows["b"][6:] == ["", "", ""]
    assert "`fgp` beats both in 1 of 2" in table and "`fgp-std` beats both in 0 of 1" in table
    assert "other ratios" not in table
    # a second ratio is counted with the same test under the 1 % table
    recs += [r | {"ratio": 0.05} for r in recs if r["dataset"] == "a" and r["pretrain"] != "fgp"]
    (tmp_path / "pretraining.json").write_text(json.dumps(recs))
    table = render.pretraining_goal_table()
    assert "at 5%: `fgp` beats both in 0 of 0 (all gains positive but within noise in 0); `fgp-std` beats both " \
           "in 0 of 1 (all gains positive but within noise in 1)" in table
    assert table.count("| a ") == 1


def test_goal_table_pairs_runs_on_the_same_seeds(tmp_path):
    """A gain of +0.01 in every one of 9 runs that themselves spread by ±0.1 is beyond noise only when
    the runs are paired; cells without per-run values fall back to the unpaired standard error."""
    spread = [0.4, 0.5, 0.6, 0.45, 0.55, 0.35, 0.65, 0.5, 0.5]
    jitter = [0.0, 0.001, -0.001, 0.002, -0.002, 0.0, 0.001, -0.001, 0.0]

    def runs(rec, offset):
        values = [v + offset + j * (offset > 0) for v, j in zip(spread, jitter)]
        return rec | {"seeds": [1, 2, 3], "model_seeds": [1, 2, 3], "kendall_tau_runs": values,
                      "precision_at_1pct_runs": values}

    recs = [runs(_rec("p", "none", 0.5, 0.5, std=0.09), 0.0), runs(_rec("p", "autoencoder", 0.5, 0.5, std=0.09), 0.0),
            runs(_rec("p", "fgp", 0.51, 0.51, std=0.09), 0.01),
            _rec("u", "none", 0.5, 0.5, std=0.09), _rec("u", "autoencoder", 0.5, 0.5, std=0.09),
            _rec("u", "fgp", 0.51, 0.51, std=0.09)]
    (tmp_path / "pretraining.json").write_text(json.dumps(recs))
    render = _render()
    render.RESULTS = tmp_path
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in render.pretraining_goal_table().splitlines() if line.startswith(("| p ", "| u "))}
    assert rows["p"][5] == "yes" and rows["p"][3].startswith("+0.010 ± 0.000*")
    assert rows["u"][5] == "within noise" and "*" not in rows["u"][3]


def _zoo(protocol, method, mape, variant="default", acc10=0.5, setting="p@1"):
    return {"task": "latency_prediction", "dataset": "zoo-latency", "protocol": protocol, "method": method,
            "variant": variant, "family": "all", "setting": setting, "train_per_family": 100, "mape_mean": mape,
            "acc10_mean": acc10, "git_commit": "abc", "machine": "m"}


def test_latency_goal_table_compares_ledgs_best_variant_with_each_baseline(tmp_path):
    recs = [_zoo("in-domain", "ledg", 0.02, acc10=0.96), _zoo("in-domain", "ledg", 0.05, "static"),
            _zoo("leave-family-out", "ledg", 0.20), _zoo("leave-family-out", "ledg", 0.12, "residual"),
            _zoo("leave-family-out", "flops-linear", 0.22), _zoo("leave-family-out", "flops-macs-linear", 0.15),
            _zoo("leave-family-out", "gin", 2.0), _zoo("leave-family-out", "gin", 0.13, "residual"),
            _zoo("leave-family-out", "kernel-additive", 0.11, "pooled"), _zoo("leave-family-out", "kernel-gbdt", 0.10),
            _zoo("zero-shot-platform", "ledg", 0.40), _zoo("zero-shot-platform", "flops-linear", 0.35, "transfer"),
            _zoo("in-domain", "ledg", 0.10, setting="q@2"),  # another platform with in-domain records only
            _zoo("in-domain", "ledg", 0.01, setting="q@2") | {"dataset": "zoo-latency-min"}]  # another label: ignored
    (tmp_path / "latency_prediction.json").write_text(json.dumps(recs))
    render = _render()
    render.RESULTS = tmp_path
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in render.latency_goal_table().splitlines()
            if line.startswith("| `")]
    assert rows[0] == ["`p@1`", "2.00 / 96.0", "met", "12.00 (residual)", "22.00", "15.00", "13.00 (residual)",
                       "met", "11.00 (pooled)", "10.00", "40.00", "35.00", "missed"]
    assert rows[1] == ["`q@2`", "10.00 / 50.0", "missed"] + [""] * 10


def test_labels_of_several_passes_are_a_cell_of_their_own(tmp_path):
    """One-pass and three-pass records of one cell stand side by side; neither hides the other."""
    one = _zoo("in-domain", "ledg", 0.08, "residual") | {"mape_std": 0.01, "acc10_std": 0.02, "runs": 3,
                                                          "mape_best": 0.07, "acc10_best": 0.6, "platform": "P",
                                                          "rel_spread_median": 0.02}
    three = one | {"label_passes": 3, "mape_mean": 0.06, "acc10_mean": 0.7}
    alone = one | {"method": "kernel-gbdt", "variant": "default"}  # one-pass only: no row
    (tmp_path / "latency_prediction.json").write_text(json.dumps([one, three, alone]))
    render = _render()
    render.RESULTS = tmp_path
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in render.latency_passes_table().splitlines()
            if line.startswith("| in-domain")]
    assert rows == [["in-domain", "`p@1`", "ledg (residual)", "100", "8.00 ± 1.00 / 50.0 ± 2.0",
                     "6.00 ± 1.00 / 70.0 ± 2.0"]]
    goal = [line for line in render.latency_goal_table().splitlines() if line.startswith("| `p@1`")]
    assert "6.00 (residual, 3-pass labels) / 70.0" in goal[0]
    zoo = render.latency_zoo_table()
    assert zoo.count("**In-domain") == 2 and zoo.count("the median of up to 3 measurement passes") == 1
