"""Search strategies, objectives and the ``archrep proxy`` / ``archrep search`` commands (tiny and fast)."""
from __future__ import annotations

import json
import random

import pytest
import torch

from archrep import search, spaces
from archrep.cli import main
from archrep.errors import ArchrepError, UnknownNameError
from archrep.proxies.inputs import Images


def _gaussian_images(n: int = 4) -> Images:
    g = torch.Generator().manual_seed(0)
    return Images(torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g), "gaussian")


def _nb201_toy(arch) -> float:
    """Toy objective: the number of 3x3 convolutions, minus a little for pooling."""
    return sum(op == "nor_conv_3x3" for op in arch) - 0.1 * sum(op == "avg_pool_3x3" for op in arch)


def test_registry_lists_strategies():
    assert search.list_strategies() == ["evolution", "llm-fill", "random"]
    with pytest.raises(UnknownNameError, match="evolution, llm-fill, random"):
        search.get("evo")


@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_budget_is_respected(strategy):
    space = spaces.get("vit-tiny")
    budget = 4.0e5
    obj = search.FunctionObjective(lambda a: space.params(a), "params")  # pushes towards the budget
    r = search.run_search(strategy, space, obj, queries=40, seed=1, budget_params=budget,
                          **({"population": 8, "sample_size": 3} if strategy == "evolution" else {}))
    assert r.n_queries == 40
    assert all(h["params"] <= budget for h in r.history)
    assert max(h["params"] for h in r.history) > 0.5 * budget


def test_budget_impossible_is_a_clear_error():
    space = spaces.get("vit-tiny")
    obj = search.FunctionObjective(lambda a: 0.0)
    with pytest.raises(ArchrepError, match="raise --budget-params"):
        search.run_search("evolution", space, obj, queries=3, budget_params=10)


def test_evolution_is_seeded_and_reproducible():
    space = spaces.get("nb201")
    runs = [search.run_search("evolution", space, search.FunctionObjective(_nb201_toy), queries=30, seed=s,
                              population=6, sample_size=2) for s in (3, 3, 4)]
    keys = [[h["arch"] for h in r.history] for r in runs]
    assert keys[0] == keys[1]
    assert keys[0] != keys[2]


def test_evolution_improves_over_its_first_population():
    space = spaces.get("nb201")
    gains = []
    for seed in range(3):
        r = search.run_search("evolution", space, search.FunctionObjective(_nb201_toy), queries=120, seed=seed,
                              population=10, sample_size=3)
        first = max(h["score"] for h in r.history[:10])
        gains.append(r.best_score - first)
        assert [h["best_score"] for h in r.history] == sorted(h["best_score"] for h in r.history)
    assert min(gains) >= 0 and max(gains) > 0
    assert r.best_score >= 5.0  # 6 edges: the optimum is 6


def test_proxy_objective_caches_in_memory_and_on_disk(tmp_path):
    space = spaces.get("nb201")
    images = _gaussian_images()
    arch = space.sample(random.Random(0))
    cache = tmp_path / "scores.jsonl"
    obj = search.ProxyObjective(space, "params", images, seed=0, cache_path=cache)
    a, b = obj(arch), obj(space.key(arch))
    assert a == b and obj.n_evaluated == 1
    r = search.run_search("evolution", space, obj, queries=12, seed=0, population=4, sample_size=2)
    assert obj.n_evaluated == r.n_unique + (space.key(arch) not in {h["arch"] for h in r.history})
    again = search.ProxyObjective(space, "params", images, seed=0, cache_path=cache)
    search.run_search("evolution", space, again, queries=12, seed=0, population=4, sample_size=2)
    assert again.n_evaluated == 0
    # another seed is another cache entry
    other = search.ProxyObjective(space, "params", images, seed=1, cache_path=cache)
    other(arch)
    assert other.n_evaluated == 1


def test_proxy_objective_orients_lower_is_better():
    space = spaces.get("nb201")
    obj = search.ProxyObjective(space, "ntk", _gaussian_images(), seed=0)
    if obj.higher_is_better:
        pytest.skip("ntk's default statistic is higher-is-better")
    arch = space.sample(random.Random(0))
    assert obj(arch) == -obj.raw(arch)


def test_oracle_objective():
    space = spaces.get("nb201")
    arch = space.sample(random.Random(0))
    obj = search.OracleObjective(space, {space.key(arch): 91.5})
    assert obj(arch) == 91.5 and obj.get(arch) == 91.5
    with pytest.raises(ArchrepError, match="no value"):
        obj(space.mutate(arch, random.Random(1)))


# ------------------------------------------------------------------------------ CLI
def test_cli_proxy_writes_lines_and_resumes(tmp_path, capsys):
    out = tmp_path / "scores.jsonl"
    args = ["proxy", "--space", "nb201", "--proxy", "params", "--inputs", "gaussian", "--batch", "2",
            "--no-progress", "--out", str(out)]
    assert main(args + ["--n", "3"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 3 and len({r["arch"] for r in lines}) == 3
    assert all(r["proxy"] == "params" and r["score"] > 0 for r in lines)
    # a torn last line is dropped; resuming scores only what is missing
    out.write_text(out.read_text() + '{"space": "nb2')
    assert main(args + ["--n", "5"]) == 0
    lines2 = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines2) == 5 and lines2[:3] == lines
    assert "2 scored now, 3 already" in capsys.readouterr().out
    # a file of another proxy is refused
    assert main([*args[:4], "flops", *args[5:], "--n", "5"]) == 2


def test_cli_search_writes_the_run(tmp_path):
    out = tmp_path / "run.json"
    assert main(["search", "--space", "vit-tiny", "--strategy", "evolution", "--proxy", "params",
                 "--budget-params", "5e5", "--queries", "6", "--population", "3", "--sample-size", "2",
                 "--inputs", "gaussian", "--batch", "2", "--no-progress", "--out", str(out)]) == 0
    run = json.loads(out.read_text())
    assert run["n_queries"] == 6 and len(run["history"]) == 6
    assert all(h["params"] <= 5e5 for h in run["history"])
    assert run["objective"]["proxy"] == "params"
    spaces.get("vit-tiny").parse(run["best_arch"])


@pytest.mark.parametrize("args, valid", [
    (["search", "--space", "vit-tiny", "--strategy", "evo"], "evolution, llm-fill, random"),
    (["search", "--space", "vit-tiny", "--proxy", "synflo"], "synflow"),
    (["search", "--space", "nb2"], "nb201"),
    (["proxy", "--space", "nb201", "--proxy", "bogus", "--n", "2", "--out", "x.jsonl"], "vintk"),
    (["proxy", "--space", "vit-small", "--n", "2", "--out", "x.jsonl"], "vit-tiny"),
])
def test_cli_bad_names_exit_2_listing_valid_ones(args, valid, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args + ["--inputs", "gaussian", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archrep: error:") and valid in err and err.count("\n") == 1
