"""VQ-VAE over cells: shapes, straight-through gradients, a tiny overfit, save/load."""
import numpy as np
import pytest
import torch

from archrep.errors import ArchrepError
from archrep.generate.vqvae import VQVAE, VQVAEConfig
from archrep.spaces.enumeration import enumerate_cells

TINY = dict(hidden=32, layers=2, decoder_dim=32, decoder_layers=1, codebook_size=64, lr=3e-3)


@pytest.fixture(scope="module")
def nb201_cells():
    t = enumerate_cells("nb201")
    idx = np.random.default_rng(0).choice(len(t), 200, replace=False)
    return t.ops[idx], t.adj[idx]


@pytest.fixture(scope="module")
def nb101_cells():
    t = enumerate_cells("nb101", max_vertices=5)
    idx = np.random.default_rng(0).choice(len(t), min(len(t), 100), replace=False)
    return t.ops[idx], t.adj[idx]


def test_shapes_and_decode_format(nb101_cells):
    ops, adj = nb101_cells
    m = VQVAE(vocab_size=5, max_nodes=ops.shape[1], epochs=1, **TINY).fit(nb101_cells)
    codes = m.encode(nb101_cells)
    assert codes.shape == ops.shape and codes.dtype == np.int64
    assert codes.min() >= 0 and codes.max() < 64
    dops, dadj = m.decode(codes)
    assert dops.shape == ops.shape and dadj.shape == adj.shape
    assert dops.min() >= -1 and dops.max() < 5
    assert not np.tril(dadj).any()
    assert 0.0 <= m.reconstruction_accuracy(nb101_cells) <= 1.0
    assert {"op_loss", "edge_loss", "commitment_loss", "codes_used"} <= set(m.history[-1])
    with pytest.raises(ArchrepError):
        m.decode(np.zeros((2, ops.shape[1] + 1), dtype=int))
    with pytest.raises(ArchrepError):
        m.decode(np.full((2, ops.shape[1]), 64))


def test_straight_through_gradient_reaches_encoder(nb201_cells):
    for ema in (False, True):
        m = VQVAE(vocab_size=7, max_nodes=8, ema=ema, **TINY)
        m.net.train()
        ops = torch.from_numpy(nb201_cells[0][:16].astype(np.int64))
        adj = torch.from_numpy(nb201_cells[1][:16].astype(np.float32))
        op_logits, edge_logits, *_ = m.net(ops, adj)
        # the reconstruction terms alone (no commitment loss) must reach the encoder
        (op_logits.sum() + edge_logits.sum()).backward()
        for p in list(m.net.gin.parameters())[:2] + list(m.net.to_latent.parameters()):
            assert p.grad is not None and p.grad.abs().sum() > 0
        if not ema:  # the codebook loss trains the codebook, the decoder's loss does not
            assert m.net.quantizer.codebook.grad is None or m.net.quantizer.codebook.grad.abs().sum() == 0


def test_tiny_overfit_nb201(nb201_cells):
    m = VQVAE(vocab_size=7, max_nodes=8, epochs=60, ema=True, **TINY).fit(nb201_cells)
    assert m.reconstruction_accuracy(nb201_cells) >= 0.9


def test_save_load_round_trip(tmp_path, nb201_cells):
    m = VQVAE(vocab_size=7, max_nodes=8, epochs=2, seed=3, **TINY).fit(nb201_cells)
    m.save(tmp_path / "vq")
    m2 = VQVAE.load(tmp_path / "vq")
    assert m2.config == m.config
    np.testing.assert_array_equal(m2.encode(nb201_cells), m.encode(nb201_cells))
    codes = m.encode(nb201_cells)
    for a, b in zip(m.decode(codes), m2.decode(codes)):
        np.testing.assert_array_equal(a, b)


def test_seeded():
    t = enumerate_cells("nb201")
    cells = (t.ops[:64], t.adj[:64])
    a = VQVAE(vocab_size=7, max_nodes=8, epochs=2, seed=1, **TINY).fit(cells).encode(cells)
    b = VQVAE(vocab_size=7, max_nodes=8, epochs=2, seed=1, **TINY).fit(cells).encode(cells)
    np.testing.assert_array_equal(a, b)


def test_config_errors(tmp_path):
    with pytest.raises(ArchrepError, match="unknown option"):
        VQVAE({"vocab_size": 7, "max_nodes": 8, "codebok_size": 3})
    with pytest.raises(ArchrepError, match="divisible"):
        VQVAEConfig(vocab_size=7, max_nodes=8, decoder_dim=30, decoder_heads=4)
    with pytest.raises(ArchrepError, match="node slots"):
        VQVAE(vocab_size=7, max_nodes=8, **TINY).encode((np.zeros((2, 7), int), np.zeros((2, 7, 7))))
    with pytest.raises(ArchrepError):
        VQVAE.load(tmp_path)


def test_gaussian_baseline_reconstructs_samples_and_round_trips(tmp_path, nb201_cells):
    ops, adj = nb201_cells
    m = VQVAE(vocab_size=7, max_nodes=8, epochs=40, bottleneck="gaussian", kl_weight=0.01, **TINY).fit(nb201_cells)
    assert "kl_loss" in m.history[-1] and "codes_used" not in m.history[-1]
    z = m.latents(nb201_cells)
    assert z.shape == (len(ops), 8, m.config.code_dim)
    assert m.reconstruction_accuracy(nb201_cells) >= 0.5
    # the empirical prior is the training latents' per-slot statistics
    np.testing.assert_allclose(m.net.latent_mean.numpy(), z.mean(0), atol=1e-5)
    sops, sadj = m.sample(50, seed=4)
    assert sops.shape == (50, 8) and sadj.shape == (50, 8, 8) and not np.tril(sadj).any()
    np.testing.assert_array_equal(m.sample(50, seed=4)[0], sops)
    assert not np.array_equal(m.sample(50, seed=5)[0], sops)
    m.save(tmp_path / "vae")
    m2 = VQVAE.load(tmp_path / "vae")
    np.testing.assert_array_equal(m2.sample(50, seed=4)[0], sops)
    np.testing.assert_array_equal(m2.sample(20, seed=1, prior="standard")[0], m.sample(20, seed=1, prior="standard")[0])
    with pytest.raises(ArchrepError, match="bottleneck='vq'"):
        m.encode(nb201_cells)
    with pytest.raises(ArchrepError, match="prior"):
        m.sample(5, prior="uniform")
    with pytest.raises(ArchrepError, match="bottleneck='gaussian'"):
        VQVAE(vocab_size=7, max_nodes=8, **TINY).sample(5)
    with pytest.raises(ArchrepError, match="bottleneck must be"):
        VQVAEConfig(vocab_size=7, max_nodes=8, bottleneck="vae")


def test_cosine_schedule_and_no_restart_after_the_last_epoch(nb201_cells):
    m = VQVAE(vocab_size=7, max_nodes=8, epochs=3, schedule="cosine", **TINY).fit(nb201_cells)
    assert m.history[-1]["codes_restarted"] == 0  # nothing would train the decoder on moved codes
    assert any(h["codes_restarted"] > 0 for h in m.history[:-1])
    with pytest.raises(ArchrepError, match="schedule"):
        VQVAEConfig(vocab_size=7, max_nodes=8, schedule="linear")


@pytest.mark.parametrize("bottleneck", ["vq", "gaussian"])
def test_checkpoint_resumes_a_killed_fit_to_the_uninterrupted_weights(tmp_path, nb201_cells, bottleneck):
    cfg = dict(vocab_size=7, max_nodes=8, epochs=3, schedule="cosine", bottleneck=bottleneck, **TINY)
    whole = VQVAE(**cfg).fit(nb201_cells)

    killed = VQVAE(**cfg)
    ckpt = tmp_path / "vq.ckpt"
    calls = {"n": 0}
    loss = killed.loss

    def dies_in_the_second_epoch(*a, **k):
        calls["n"] += 1
        if calls["n"] == 9:  # 200 cells / batch 32 = 7 batches an epoch
            raise KeyboardInterrupt
        return loss(*a, **k)

    killed.loss = dies_in_the_second_epoch
    with pytest.raises(KeyboardInterrupt):
        killed.fit(nb201_cells, checkpoint=ckpt)
    assert ckpt.exists()

    resumed = VQVAE(**cfg).fit(nb201_cells, checkpoint=ckpt)
    assert not ckpt.exists()  # removed once training completed
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2]
    for (name, a), b in zip(whole.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.equal(a, b), name


def test_checkpoint_of_another_run_is_refused(tmp_path, nb201_cells):
    ckpt = tmp_path / "vq.ckpt"
    m = VQVAE(vocab_size=7, max_nodes=8, epochs=2, **TINY)
    m.loss = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt) if len(m.history) == 1 else VQVAE.loss(m, *a, **k)
    with pytest.raises(KeyboardInterrupt):
        m.fit(nb201_cells, checkpoint=ckpt)
    with pytest.raises(ArchrepError, match="another run"):
        VQVAE(vocab_size=7, max_nodes=8, epochs=2, **{**TINY, "lr": 1e-3}).fit(nb201_cells, checkpoint=ckpt)
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ArchrepError, match="cannot read"):
        VQVAE(vocab_size=7, max_nodes=8, epochs=2, **TINY).fit(nb201_cells, checkpoint=ckpt)
