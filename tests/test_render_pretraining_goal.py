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
