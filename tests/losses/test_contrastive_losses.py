"""Contrastive losses, MMD and diagnostics against slow loop references, closed forms, gradients, descent."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tscl.errors import ConfigError, TsclError
from tscl.losses import create_loss, list_losses
from tscl.losses._alignment import alignment, uniformity
from tscl.losses._mmd import MMDLoss, mmd_loss
from tscl.losses.dcl import DecoupledContrastiveLoss, decoupled_contrastive_loss
from tscl.losses.infonce import InfoNCELoss, info_nce_loss, info_nce_sample_losses
from tscl.losses.local_infonce import LocalInfoNCELoss, local_info_nce_loss
from tscl.losses.siglip import SigmoidContrastiveLoss, sigmoid_contrastive_loss

pytestmark = pytest.mark.usefixtures("one_thread")


SHAPES = [(1, 3), (2, 5), (5, 4), (9, 16)]
TEMPERATURES = [0.05, 0.1, 0.5, 1.0]


# -- slow references ------------------------------------------------------------------------------------
def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a @ b) / (a.norm() * b.norm()))


def ref_info_nce(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    z = torch.cat([z1, z2]).double()
    n, b = z.shape[0], z1.shape[0]
    total = 0.0
    for i in range(n):
        partner = (i + b) % n
        denominator = sum(math.exp(_cos(z[i], z[k]) / tau) for k in range(n) if k != i)
        total += -_cos(z[i], z[partner]) / tau + math.log(denominator)
    return total / n


def ref_dcl(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    z = torch.cat([z1, z2]).double()
    n, b = z.shape[0], z1.shape[0]
    if b == 1:
        return 0.0
    total = 0.0
    for i in range(n):
        partner = (i + b) % n
        denominator = sum(math.exp(_cos(z[i], z[k]) / tau) for k in range(n) if k not in (i, partner))
        total += -_cos(z[i], z[partner]) / tau + math.log(denominator)
    return total / n


def ref_siglip(z1: torch.Tensor, z2: torch.Tensor, t: float, bias: float) -> float:
    b = z1.shape[0]
    total = 0.0
    for i in range(b):
        for j in range(b):
            label = 1.0 if i == j else -1.0
            logit = t * _cos(z1[i].double(), z2[j].double()) + bias
            total += -math.log(1 / (1 + math.exp(-label * logit)))
    return total / b


def ref_local(z1: torch.Tensor, z2: torch.Tensor, k: int, tau: float) -> float:
    b, t, _ = z1.shape
    k = min(k, t)
    total, count = 0.0, 0
    for i in range(b):
        # Segment s covers [floor(s*T/K), ceil((s+1)*T/K)) as adaptive pooling does.
        bounds = [(math.floor(s * t / k), math.ceil((s + 1) * t / k)) for s in range(k)]
        u = [z1[i, lo:hi].double().amax(0) for lo, hi in bounds]
        w = [z2[i, lo:hi].double().amax(0) for lo, hi in bounds]
        for anchors, candidates in ((u, w), (w, u)):
            for a in range(k):
                scores = [math.exp(_cos(anchors[a], candidates[j]) / tau) for j in range(k)]
                positive = sum(scores[j] for j in range(k) if abs(j - a) <= 1)
                total += -math.log(positive / sum(scores))
                count += 1
    return total / count


def ref_mmd(x: torch.Tensor, y: torch.Tensor, n_kernels: int, multiplier: float) -> float:
    joint = torch.cat([x, y]).double()
    n = joint.shape[0]
    dist = [[float((joint[i] - joint[j]).square().sum()) for j in range(n)] for i in range(n)]
    base = sum(dist[i][j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    widths = [base * multiplier ** (q - n_kernels // 2) for q in range(n_kernels)]

    def k(i: int, j: int) -> float:
        return sum(math.exp(-dist[i][j] / w) for w in widths)

    nx = x.shape[0]
    xs, ys = range(nx), range(nx, n)
    kxx = sum(k(i, j) for i in xs for j in xs) / nx**2
    kyy = sum(k(i, j) for i in ys for j in ys) / len(ys) ** 2
    kxy = sum(k(i, j) for i in xs for j in ys) / (nx * len(ys))
    return kxx + kyy - 2 * kxy


def _pair(b: int, d: int, seed: int, t: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (b, d) if t is None else (b, t, d)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


# -- agreement with the references ----------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tau", TEMPERATURES)
def test_info_nce_and_dcl_match_loops(shape: tuple[int, int], tau: float) -> None:
    z1, z2 = _pair(*shape, seed=shape[0] * 7 + int(tau * 100))
    assert float(info_nce_loss(z1, z2, tau)) == pytest.approx(ref_info_nce(z1, z2, tau), rel=1e-4, abs=1e-5)
    assert float(decoupled_contrastive_loss(z1, z2, tau)) == pytest.approx(ref_dcl(z1, z2, tau), rel=1e-4, abs=1e-5)


def ref_info_nce_sample(z1: torch.Tensor, z2: torch.Tensor, tau: float, i: int) -> float:
    """Instance i's NT-Xent: the mean of the cross-entropies of its two rows (z1[i] and z2[i])."""
    z = torch.cat([z1, z2]).double()
    n, b = z.shape[0], z1.shape[0]
    terms = []
    for row, partner in ((i, i + b), (i + b, i)):
        denominator = sum(math.exp(_cos(z[row], z[k]) / tau) for k in range(n) if k != row)
        terms.append(-_cos(z[row], z[partner]) / tau + math.log(denominator))
    return sum(terms) / 2


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_info_nce_per_sample_matches_loop_and_averages_to_the_loss(shape: tuple[int, int], tau: float) -> None:
    z1, z2 = _pair(*shape, seed=shape[0] * 3 + 1)
    per_sample = info_nce_sample_losses(z1, z2, tau)
    assert per_sample.shape == (shape[0],)
    for i in range(shape[0]):
        assert float(per_sample[i]) == pytest.approx(ref_info_nce_sample(z1, z2, tau, i), rel=1e-4, abs=1e-5)
    assert float(per_sample.mean()) == pytest.approx(float(info_nce_loss(z1, z2, tau)), rel=1e-5, abs=1e-6)
    module = InfoNCELoss(temperature=tau)
    torch.testing.assert_close(module.per_sample(z1[:, None].expand(-1, 3, -1), z2[:, None]), per_sample)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("t", "bias"), [(10.0, -10.0), (1.0, 0.0), (5.0, -2.0)])
def test_siglip_matches_loop(shape: tuple[int, int], t: float, bias: float) -> None:
    z1, z2 = _pair(*shape, seed=shape[1])
    expected = ref_siglip(z1, z2, t, bias)
    assert float(sigmoid_contrastive_loss(z1, z2, t, bias)) == pytest.approx(expected, rel=1e-4)
    module = SigmoidContrastiveLoss(temperature=1 / t, bias=bias, learnable=False)
    assert float(module(z1, z2)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(("b", "t", "d", "k"), [(1, 16, 3, 16), (3, 40, 4, 16), (2, 7, 5, 16), (2, 33, 3, 4)])
@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_local_info_nce_matches_loop(b: int, t: int, d: int, k: int, tau: float) -> None:
    z1, z2 = _pair(b, d, seed=t, t=t)
    expected = ref_local(z1, z2, k, tau)
    assert float(local_info_nce_loss(z1, z2, k, tau)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(("n", "m", "d"), [(4, 4, 3), (5, 3, 8), (2, 6, 1)])
@pytest.mark.parametrize(("kernels", "multiplier"), [(5, 2.0), (1, 2.0), (3, 4.0)])
def test_mmd_matches_loop(n: int, m: int, d: int, kernels: int, multiplier: float) -> None:
    g = torch.Generator().manual_seed(n * m)
    x, y = torch.randn(n, d, generator=g), torch.randn(m, d, generator=g) + 0.5
    expected = ref_mmd(x, y, kernels, multiplier)
    assert float(mmd_loss(x, y, kernels, multiplier)) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_alignment_and_uniformity_match_loops() -> None:
    z1, z2 = _pair(6, 4, seed=3)
    n1, n2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    align = sum(float((n1[i] - n2[i]).norm() ** 2) for i in range(6)) / 6
    pairs = [float((n1[i] - n1[j]).square().sum()) for i in range(6) for j in range(i + 1, 6)]
    uniform = math.log(sum(math.exp(-2 * p) for p in pairs) / len(pairs))
    assert float(alignment(z1, z2)) == pytest.approx(align, rel=1e-5)
    assert float(uniformity(z1)) == pytest.approx(uniform, rel=1e-5)


# -- closed forms ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_closed_forms_on_orthonormal_views(tau: float) -> None:
    b = 4
    z = torch.eye(8)[:b] * 3.0  # identical views, orthogonal instances
    assert float(info_nce_loss(z, z, tau)) == pytest.approx(
        math.log(1 + (2 * b - 2) * math.exp(-1 / tau)), rel=1e-4, abs=1e-6
    )
    assert float(decoupled_contrastive_loss(z, z, tau)) == pytest.approx(-1 / tau + math.log(2 * b - 2), rel=1e-5)
    t, bias = 1 / tau, -2.0
    expected = F.softplus(torch.tensor(-(t + bias))) + (b - 1) * F.softplus(torch.tensor(bias))
    assert float(sigmoid_contrastive_loss(z, z, t, bias)) == pytest.approx(float(expected), rel=1e-5)
    assert float(mmd_loss(z, z)) == pytest.approx(0.0, abs=1e-6)
    assert float(alignment(z, z)) == pytest.approx(0.0, abs=1e-6)
    assert float(uniformity(torch.ones(5, 3))) == pytest.approx(0.0, abs=1e-6)


def test_local_closed_form_when_all_segments_coincide() -> None:
    z = torch.ones(2, 32, 4)
    # K = 16 equal scores: end segments have 2 positives, the 14 inner ones 3.
    expected = (2 * math.log(16 / 2) + 14 * math.log(16 / 3)) / 16
    assert float(local_info_nce_loss(z, z, 16, 0.1)) == pytest.approx(expected, rel=1e-5)
    assert float(local_info_nce_loss(z[:, :2], z[:, :2], 16, 0.1)) == 0.0  # K = 2: nothing to contrast


def test_single_instance_cases() -> None:
    z1, z2 = _pair(1, 4, seed=0)
    assert float(info_nce_loss(z1, z2)) == pytest.approx(0.0, abs=1e-6)
    assert float(decoupled_contrastive_loss(z1, z2)) == 0.0


# -- gradients and descent ------------------------------------------------------------------------------
def _loss_fns() -> dict[str, object]:
    siglip = SigmoidContrastiveLoss()
    return {
        "infonce": lambda a, b: info_nce_loss(a.amax(1), b.amax(1), 0.2),
        "dcl": lambda a, b: decoupled_contrastive_loss(a.amax(1), b.amax(1), 0.2),
        "siglip": lambda a, b: siglip(a.amax(1), b.amax(1)),
        "local": lambda a, b: local_info_nce_loss(a, b, 8, 0.2),
        "mmd": lambda a, b: mmd_loss(a.amax(1), b.amax(1)),
        "hierarchical": lambda a, b: create_loss("hierarchical")(a, b),
    }


@pytest.mark.parametrize("name", ["infonce", "dcl", "siglip", "local", "mmd", "hierarchical"])
def test_finite_gradients_and_loss_goes_down(name: str) -> None:
    fn = _loss_fns()[name]
    g = torch.Generator().manual_seed(1)
    base = torch.randn(6, 24, 5, generator=g)
    z1 = (base + 0.3 * torch.randn(6, 24, 5, generator=g)).requires_grad_(True)
    z2 = (base + 0.3 * torch.randn(6, 24, 5, generator=g)).requires_grad_(True)
    if name == "mmd":
        z2 = (z2.detach() + 2.0).requires_grad_(True)
    optimizer = torch.optim.Adam([z1, z2], lr=0.05)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = fn(z1, z2)  # type: ignore[operator]
        loss.backward()
        assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()
        assert z1.grad.abs().sum() > 0
        losses.append(loss.item())
        optimizer.step()
    assert losses[-1] < losses[0]


def test_siglip_temperature_and_bias_are_learnt() -> None:
    loss = SigmoidContrastiveLoss(temperature=0.1, bias=-2.0)
    assert {n for n, _ in loss.named_parameters()} == {"log_scale", "bias"}
    z1, z2 = _pair(4, 3, seed=2)
    loss(z1, z2).backward()
    assert loss.log_scale.grad is not None and loss.bias.grad is not None
    assert list(SigmoidContrastiveLoss(learnable=False).parameters()) == []


# -- validation and registry ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda: InfoNCELoss(0.0),
        lambda: DecoupledContrastiveLoss(-1.0),
        lambda: SigmoidContrastiveLoss(temperature=float("inf")),
        lambda: SigmoidContrastiveLoss(bias=float("nan")),
        lambda: LocalInfoNCELoss(n_segments=0),
        lambda: MMDLoss(n_kernels=0),
        lambda: MMDLoss(multiplier=1.0),
    ],
)
def test_modules_validate_hyper_parameters(build: object) -> None:
    with pytest.raises(ConfigError, match="must be"):
        build()  # type: ignore[operator]


def test_shape_errors_are_clear() -> None:
    with pytest.raises(TsclError, match="same non-empty shape"):
        info_nce_loss(torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(TsclError, match=r"\[B, T, D\]"):
        local_info_nce_loss(torch.zeros(3, 4), torch.zeros(3, 4))


def test_menu_registry_and_pooling() -> None:
    assert {"dcl", "hierarchical", "infonce", "siglip"} <= set(list_losses())
    with pytest.raises(ConfigError, match="dcl, hierarchical, infonce, .*siglip"):
        create_loss("ntxent")
    z1, z2 = _pair(3, 4, seed=5, t=10)
    loss = create_loss("infonce", temperature=0.3)
    # Instance-level losses take sequences [B, T, D] and max-pool them over time themselves.
    assert float(loss(z1, z2)) == pytest.approx(float(info_nce_loss(z1.amax(1), z2.amax(1), 0.3)))
    assert float(loss(z1.amax(1), z2.amax(1))) == pytest.approx(float(loss(z1, z2)))
    hierarchical = create_loss("hierarchical", alpha=0.5)
    assert hierarchical(z1, z2).dim() == 0


def test_registry_rejects_bad_options_by_name() -> None:
    with pytest.raises(ConfigError, match=r"loss\.temperature must be greater than 0") as bad:
        create_loss("infonce", temperature=0.0)
    assert "tscl losses show infonce" in str(bad.value.hint)
    with pytest.raises(ConfigError, match=r"loss\.alpha is not an option of siglip") as unknown:
        create_loss("siglip", alpha=0.5)
    assert "bias, learnable, temperature" in str(unknown.value.hint) or "temperature, bias" in str(unknown.value.hint)
