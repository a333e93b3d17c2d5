"""The trainer, the losses and the one-hot features: real learning on a synthetic target,
early stopping, hand-computed losses, determinism."""
import numpy as np
import pytest
import torch

from archrep import models, spaces
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, UnknownNameError
from archrep.features.onehot import node_mask, onehot_ops
from archrep.train import fit as trainer
from archrep.train import losses
from archrep.train.metrics import kendall_tau

WEIGHTS = {"nor_conv_3x3": 2.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 0.3, "skip_connect": 0.1, "none": -1.5}


def nb201_dataset(n: int, style: str, seed: int = 0) -> ArchDataset:
    """n random NB201 cells; 'y' = weighted op counts + an edge-position term + noise (learnable)."""
    space = spaces.get("nb201", graph_style=style)
    rng = np.random.default_rng(seed)
    archs = list(space.enumerate())
    picked = [archs[i] for i in rng.choice(len(archs), n, replace=False)]
    y = np.array([sum(WEIGHTS[op] for op in a) + (a[3] == "nor_conv_3x3") for a in picked]) + rng.normal(0, 0.3, n)
    return ArchDataset.from_graphs(f"nb201-{style}", [space.key(a) for a in picked],
                                   [space.to_graph(a) for a in picked], {"y": y},
                                   op_vocab=space.op_vocab, max_nodes=8, space="nb201")


@pytest.fixture(scope="module")
def splits_by_style():
    out = {}
    for style in ("keep_none", "prune_none"):
        ds = nb201_dataset(860, style)
        out[style] = (ds.subset(np.arange(300)), ds.subset(np.arange(300, 360)), ds.subset(np.arange(360, 860)))
    return out


@pytest.mark.parametrize("name,style", [("gin", "keep_none"), ("gin", "prune_none"), ("mlp", "keep_none"),
                                        ("mlp", "prune_none")])
@pytest.mark.parametrize("loss", ["mse", "hinge"])
def test_predictors_learn_a_learnable_target(name, style, loss, splits_by_style):
    train, val, test = splits_by_style[style]

    def held_out(epochs):
        model = models.create(name, seed=0, progress=False, epochs=epochs, loss=loss).fit(train, "y", val)
        return model, kendall_tau(test.target("y"), model.predict(test))

    model, tau = held_out(30)
    _, tau_one_epoch = held_out(1)
    assert tau > 0.7, f"{name}/{style}/{loss}: held-out Kendall tau {tau:.3f}"
    assert tau > tau_one_epoch + 0.04, f"{name}/{style}/{loss}: 30 epochs {tau:.3f} vs 1 epoch {tau_one_epoch:.3f}"
    if loss == "mse":  # values, not just ranks, are learnt: errors well below the target's spread
        rmse = np.sqrt(np.mean((model.predict(test) - test.target("y")) ** 2))
        assert rmse < 0.5 * np.std(test.target("y"))


def _toy_problem(seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0])).numpy().astype(np.float64)
    return {"features": x}, y


class Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(5, 1)

    def forward(self, features):
        return self.lin(features).squeeze(-1)


def test_early_stopping_restores_best_weights():
    inputs, y = _toy_problem()
    val_inputs, val_y = _toy_problem(seed=1)
    torch.manual_seed(0)
    net = Linear()
    # validate against the negated target: training makes the validation tau worse and worse
    result = trainer.train_network(net, inputs, y, val_inputs=val_inputs, val_y=-val_y, epochs=60, lr=0.05,
                                   patience=5, seed=0, progress=False, scheduler="none")
    taus = [h["val_kendall_tau"] for h in result.history]
    assert result.stopped_early and len(result.history) == result.best_epoch + 5
    assert result.best_epoch == int(np.argmax(taus)) + 1
    assert result.best_val_kendall_tau == max(taus)
    restored = kendall_tau(-val_y, trainer.predict_network(net, val_inputs))
    assert restored == pytest.approx(max(taus))
    assert restored > taus[-1]  # the last epoch was worse: the best weights are back


def test_trainer_is_deterministic_and_standardises():
    inputs, y = _toy_problem()
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        net = Linear()
        res = trainer.train_network(net, inputs, y * 10 + 7, epochs=5, seed=3, progress=False, loss="mse")
        outs.append(trainer.predict_network(net, inputs))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert res.scaler.mean == pytest.approx(np.mean(y * 10 + 7))
    assert res.scaler.std == pytest.approx(np.std(y * 10 + 7))
    assert res.best_epoch is None and len(res.history) == 5


def test_trainer_rejects_bad_settings():
    inputs, y = _toy_problem()
    net = Linear()
    with pytest.raises(ArchrepError, match="optimizer"):
        trainer.train_network(net, inputs, y, optimizer="sgdx", progress=False)
    with pytest.raises(ArchrepError, match="finite"):
        trainer.train_network(net, inputs, np.full_like(y, np.nan), progress=False)
    with pytest.raises(ArchrepError, match="epochs"):
        trainer.train_network(net, inputs, y, epochs=0, progress=False)
    with pytest.raises(ArchrepError, match="at least 2"):
        trainer.train_network(net, inputs, y, val_inputs={"features": inputs["features"][:1]}, val_y=y[:1],
                              progress=False)
    with pytest.raises(ArchrepError, match="CUDA|device"):
        trainer.resolve_device("cuda:99" if torch.cuda.is_available() else "cuda")


def test_hinge_loss_hand_case():
    s = torch.tensor([0.0, 1.0, 0.2])
    y = torch.tensor([1.0, 2.0, 2.0])
    # pairs: (0,1) y0<y1: max(0, 0.5 - (-1)(0 - 1)) = 0; (0,2): max(0, 0.5 - (-1)(0 - 0.2)) = 0.3;
    # (1,2) equal targets: skipped -> mean 0.15
    assert float(losses.pairwise_hinge_loss(s, y, margin=0.5)) == pytest.approx(0.15)
    assert float(losses.create("hinge", margin=1.0)(s, y)) == pytest.approx((0.0 + 0.8) / 2)
    # no valid pair: zero, and backward still works
    s1 = torch.tensor([0.3], requires_grad=True)
    zero = losses.pairwise_hinge_loss(s1, torch.tensor([1.0]))
    zero.backward()
    assert float(zero.detach()) == 0.0 and s1.grad is not None


def test_hinge_pair_subsampling_is_capped_and_seeded():
    s = torch.tensor([0.0, 0.1, 0.2, 0.3])
    y = torch.tensor([4.0, 3.0, 2.0, 1.0])  # every pair is ranked wrongly: loss per pair = 0.5 + |s_i - s_j|
    all_pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    per_pair = {p: 0.5 + abs(float(s[p[0]] - s[p[1]])) for p in all_pairs}
    assert float(losses.pairwise_hinge_loss(s, y)) == pytest.approx(np.mean(list(per_pair.values())))
    values = {round(float(losses.create("hinge", pair_ratio=0.5, seed=k)(s, y)), 6) for k in range(20)}
    means = {round((per_pair[a] + per_pair[b]) / 2, 6) for a in all_pairs for b in all_pairs if a < b}
    assert values <= means and len(values) > 1  # 2 = 0.5 x 4 pairs drawn, depending on the seed
    a = losses.create("hinge", pair_ratio=0.5, seed=7)
    b = losses.create("hinge", pair_ratio=0.5, seed=7)
    assert [float(a(s, y)) for _ in range(3)] == [float(b(s, y)) for _ in range(3)]


def test_mse_and_both_losses():
    s = torch.tensor([0.0, 1.0, 0.2])
    y = torch.tensor([1.0, 2.0, 2.0])
    mse = (1 + 1 + 1.8 ** 2) / 3
    assert float(losses.create("mse")(s, y)) == pytest.approx(mse)
    both = losses.create("both", mse_weight=2.0, hinge_weight=0.5)
    assert float(both(s, y)) == pytest.approx(2.0 * mse + 0.5 * 0.15)
    assert losses.list_losses() == ["both", "hinge", "mse"]
    with pytest.raises(UnknownNameError, match="hinge"):
        losses.create("rank")
    with pytest.raises(ArchrepError, match="valid settings: none"):
        losses.create("mse", margin=0.1)
    with pytest.raises(ArchrepError, match="margin"):
        losses.create("hinge", margin=-1)


def test_onehot_and_mask_are_vectorised_and_zero_on_padding():
    ops = np.array([[0, 2, -1], [1, -1, -1]], dtype=np.int16)
    x = onehot_ops(ops, 3)
    assert x.dtype == np.float32 and x.shape == (2, 3, 3)
    np.testing.assert_array_equal(x[0], [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(x[1], [[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(node_mask(ops), [[True, True, False], [True, False, False]])
    with pytest.raises(ArchrepError, match="op index 3"):
        onehot_ops(ops + 1, 3)
