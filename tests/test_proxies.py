"""Training-free proxies: one conformance test over every registered proxy, then each proxy's facts."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from archrep import nets, proxies
from archrep.errors import ArchrepError, UnknownNameError
from archrep.proxies import ntk
from archrep.proxies.activation import JACOV_DEGENERATE
from archrep.proxies.inputs import load_images
from archrep.proxies.registry import is_oom, split_on_oom
from archrep.spaces.nb201_cost import nb201_cost

NB201_ARCH = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|"
VIT_ARCH = "e64|h2,4,2,3|r2,3,2,4"
FAST = {"repeats": 1}  # one NTK initialisation keeps the conformance test quick


@pytest.fixture(scope="module")
def batch():
    images = load_images("gaussian", 6, seed=1)  # conformance only: synthetic inputs, asked for by name
    return images.x, images.y


def _nets():
    torch.manual_seed(0)
    return {"nb201": nets.nb201_network(NB201_ARCH, C=4, N=1), "vit": nets.vit_network(VIT_ARCH)}


@pytest.mark.parametrize("name", proxies.list_proxies())
def test_every_proxy_conforms(name, batch):
    """Deterministic for a seed, finite, a documented direction, the caller's net untouched;
    works on an NB201 net and a ViT (the MSA/FFN restrictions only on the ViT)."""
    x, y = batch
    proxy = proxies.get(name)
    assert isinstance(proxy.is_higher_better(), bool) and proxy.description
    options = FAST if "ntk" in name else {}
    for kind, net in _nets().items():
        if kind == "nb201" and name.endswith(("_msa", "_ffn")):
            with pytest.raises(ArchrepError, match="need a ViT"):
                proxy(net, x, y, seed=0, **options)
            continue
        before = {k: v.clone() for k, v in net.state_dict().items()}
        first = proxy(net, x, y, seed=3, **options)
        assert np.isfinite(first)
        assert proxy(net, x, y, seed=3, **options) == first
        assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
        assert all(p.grad is None for p in net.parameters())


def test_registry_errors(batch):
    x, y = batch
    net = _nets()["nb201"]
    with pytest.raises(UnknownNameError, match="synflow"):
        proxies.get("synflw")
    with pytest.raises(ArchrepError, match="unknown option.*valid: batch_size"):
        proxies.score("ntk", net, x, y, temperature=2)
    with pytest.raises(ArchrepError, match="needs a batch of real images"):
        proxies.score("snip", net)
    with pytest.raises(ArchrepError, match="needs targets"):
        proxies.score("snip", net, x)
    with pytest.raises(ArchrepError, match="unknown spectral statistic"):
        proxies.score("ntk", net, x, statistic="det")
    with pytest.raises(ArchrepError, match="nn.Module"):
        proxies.score("params", "not a net", x)
    assert proxies.score("synflow", net, input_shape=(3, 32, 32)) == proxies.score("synflow", net, x)


def test_directions():
    assert not proxies.get("ntk").is_higher_better()
    assert proxies.get("vintk").is_higher_better(statistic="lambda_min")
    assert proxies.get("vintk_msa").is_higher_better(statistic="trace")
    assert proxies.get("synflow").is_higher_better() and proxies.get("jacov").is_higher_better()


def test_flops_and_params_match_the_nb201_counts():
    net = nets.nb201_network(NB201_ARCH)
    cost = nb201_cost(NB201_ARCH)
    assert proxies.score("params", net, input_shape=(3, 32, 32)) == pytest.approx(cost["params"], abs=1e-6)
    # the NB201 counter adds the classifier's 10 bias additions, torch's counter does not
    assert proxies.score("flops", net, input_shape=(3, 32, 32)) == pytest.approx(cost["flops"], abs=2e-5)


# ------------------------------------------------------------------------------ synflow
def _relu_mlp(sizes, seed=0):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b, bias=False), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def test_synflow_conservation_and_rescaling():
    net = _relu_mlp([5, 7, 6, 3])
    x = torch.randn(4, 5)
    # with |W| and an all-ones input every layer's saliency sums to R = 1ᵀ|W3||W2||W1|1 (Tanaka et al.)
    w = [m.weight.detach().double().abs() for m in net if isinstance(m, nn.Linear)]
    r = float(torch.ones(3, dtype=torch.float64) @ w[2] @ w[1] @ w[0] @ torch.ones(5, dtype=torch.float64))
    score = proxies.score("synflow", net, x)
    assert score == pytest.approx(3 * r, rel=1e-10)
    # invariant to moving a scale between consecutive layers, and to the data
    scaled = _relu_mlp([5, 7, 6, 3])
    with torch.no_grad():
        scaled[0].weight.mul_(8.0)
        scaled[2].weight.div_(8.0)
    assert proxies.score("synflow", scaled, x) == pytest.approx(score, rel=1e-10)
    assert proxies.score("synflow", net, torch.randn(4, 5)) == score


def test_synflow_ignores_batchnorm():
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with_bn = nn.Sequential(plain[0], nn.BatchNorm2d(4), *plain[1:])
    shape = {"input_shape": (3, 8, 8)}
    assert proxies.score("synflow", with_bn, **shape) == pytest.approx(proxies.score("synflow", plain, **shape))


# ------------------------------------------------------------------------------ NTK / ViNTK
class OneLayer(nn.Module):
    def __init__(self, d: int, c: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c, d))

    def forward(self, x):
        return x.flatten(1) @ self.weight.T


def test_ntk_of_a_linear_layer_is_c_x_xt():
    # f(x) = W x: the gradient of sum_c f_c(x_i) w.r.t. W is 1 x_iᵀ, so Θ = c X Xᵀ
    torch.manual_seed(0)
    x = torch.randn(5, 12)
    net = OneLayer(12, 3)
    theta = ntk.empirical_ntk(net, x)
    gram = 3 * x.double() @ x.double().T
    assert torch.allclose(theta, gram, rtol=1e-5)
    eig = np.linalg.eigvalsh(gram.numpy())
    kappa = proxies.score("ntk", net, x, init=None)
    assert kappa == pytest.approx(eig[-1] / eig[0], rel=1e-4)
    stats = ntk.spectral_statistics(net, x, init=None, num_features=4, sigma=0.05, seed=2)
    hadamard = np.linalg.eigvalsh((gram * ntk.rff_kernel(x, 4, 0.05, seed=2)).numpy())
    assert stats["ntk"]["cond"] == pytest.approx(kappa)
    assert stats["vintk"]["cond"] == pytest.approx(hadamard[-1] / hadamard[0], rel=1e-4)
    assert stats["vintk"]["trace"] == pytest.approx(stats["ntk"]["trace"])  # K has a unit diagonal
    assert proxies.score("vintk", net, x, init=None, num_features=4, sigma=0.05, seed=2) == \
        pytest.approx(stats["vintk"]["cond"])


def test_one_gradient_pass_gives_every_weight_set_of_a_vit():
    from archrep import nets

    torch.manual_seed(0)
    net = nets.vit_network("e64|h2,2,2,2|r2,2,2,2", "vit-tiny")
    x = torch.randn(3, 3, 32, 32)
    both = ntk.spectral_statistics_by_set(net, x, ("weight", "msa", "ffn"), repeats=1, seed=1)
    for params in ("weight", "msa", "ffn"):
        alone = ntk.spectral_statistics(net, x, params=params, repeats=1, seed=1)
        for kernel in ntk.KERNELS:
            for stat in ntk.STATISTICS:
                assert both[params][kernel][stat] == pytest.approx(alone[kernel][stat], rel=1e-9)
    assert both["msa"]["ntk"]["trace"] + both["ffn"]["ntk"]["trace"] < both["weight"]["ntk"]["trace"]
    thetas = ntk.empirical_ntks(net, x, ("msa", "ffn"))
    assert torch.allclose(thetas["msa"], ntk.empirical_ntk(net, x, "msa"))


def test_ntk_degenerate_kernel_scores_1e5():
    net = OneLayer(4, 2)
    x = torch.ones(3, 4)  # identical inputs: rank-1 NTK
    assert proxies.score("ntk", net, x, init=None) == ntk.DEGENERATE_COND


def test_rff_kernel_approximates_the_gaussian_kernel():
    x = torch.randn(6, 10)
    k = ntk.rff_kernel(x, num_features=20000, sigma=0.1, seed=0)
    assert torch.allclose(k.diagonal(), torch.ones(6, dtype=torch.float64))
    exact = torch.exp(-2 * np.pi ** 2 * 0.1 ** 2 * torch.cdist(x.double(), x.double()) ** 2)
    assert (k - exact).abs().max() < 0.03
    assert torch.equal(k, ntk.rff_kernel(x, 20000, 0.1, seed=0))
    with pytest.raises(ArchrepError, match="sigma"):
        ntk.rff_kernel(x, 2, -1.0)


def test_msa_and_ffn_restrictions_select_their_weights():
    net = nets.vit_network(VIT_ARCH)
    msa = {id(p) for p in ntk.kernel_params(net, "msa")}
    ffn = {id(p) for p in ntk.kernel_params(net, "ffn")}
    names = {id(p): n for n, p in net.named_parameters()}
    assert {names[i].split(".")[-2] for i in msa} == {"qkv", "proj"}
    assert {names[i].split(".")[-2] for i in ffn} == {"fc1", "fc2"}
    assert len(msa) == len(ffn) == 2 * 4


# ------------------------------------------------------------------------------ OOM split / retry
class FakeOOMNet(nn.Module):
    """Wraps a net; a forward on more than ``limit`` inputs raises an out-of-memory error."""

    def __init__(self, inner: nn.Module, limit: int):
        super().__init__()
        self.inner, self.limit, self.calls = inner, limit, []

    def forward(self, x):
        self.calls.append(len(x))
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return self.inner(x)


def test_split_on_oom_halves_until_it_fits():
    sizes = []

    def fn(a, b):
        sizes.append(b - a)
        if b - a > 3:
            raise torch.OutOfMemoryError("fake")
        return list(range(a, b))

    parts = split_on_oom(fn, 10)
    assert sum(parts, []) == list(range(10)) and max(len(p) for p in parts) <= 3
    with pytest.raises(ArchrepError, match="out of memory even for 1 input"):
        split_on_oom(lambda a, b: (_ for _ in ()).throw(RuntimeError("CUDA out of memory")), 4)
    with pytest.raises(ValueError, match="not an OOM"):
        split_on_oom(lambda a, b: (_ for _ in ()).throw(ValueError("not an OOM")), 4)
    assert is_oom(RuntimeError("DefaultCPUAllocator: can't allocate memory")) and not is_oom(KeyError("x"))


@pytest.mark.parametrize("name", ["jacov", "naswot", "grad_norm", "snip", "ntk"])
def test_proxies_split_a_batch_that_runs_out_of_memory(name, batch):
    x, y = batch
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10))  # no BN
    options = {"init": None} if name == "ntk" else {}
    whole = proxies.score(name, FakeOOMNet(inner, limit=100), x, y, **options)
    split = proxies.score(name, FakeOOMNet(inner, limit=2), x, y, **options)
    assert split == pytest.approx(whole, rel=1e-6)


def test_jacov_of_a_constant_net_is_the_degenerate_score(batch):
    x, y = batch
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 2))
    with torch.no_grad():
        net[1].weight.zero_()
    assert proxies.score("jacov", net, x, y) == JACOV_DEGENERATE
