"""`contrast_rows` (strip algorithm and small-group path) against its plain cross-entropy reference."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

import tscl.kernels.row_contrast as row_contrast
from tscl.errors import TsclError
from tscl.kernels.row_contrast import contrast_rows, contrast_rows_reference

# (groups, rows, dim): the small path (<= 512 rows, odd dims, 2 rows: one negative-free pair) and the strip
# path (> 512 rows, last strip partial or of 2 rows).
SMALL = [(1, 2, 3), (3, 4, 5), (5, 14, 3), (2, 66, 7), (7, 512, 4)]
STRIPS = [(1, 514, 4), (3, 600, 5), (2, 1030, 3)]

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: a second thread only adds waiting


def rows(shape: tuple[int, int, int], dtype: torch.dtype = torch.float64, seed: int = 0, scale: float = 1.0) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=generator, dtype=dtype)).requires_grad_()


def value_and_grad(loss_fn, z: Tensor) -> tuple[Tensor, Tensor]:
    loss = loss_fn(z)
    (grad,) = torch.autograd.grad(loss, z)
    return loss.detach(), grad


def assert_matches_reference(z: Tensor, rtol: float, atol: float) -> None:
    """Value and gradient of ``z`` (any dtype) against the reference on its float64 copy."""
    ours = value_and_grad(contrast_rows, z)
    want = value_and_grad(contrast_rows_reference, z.detach().double().requires_grad_())
    grad_scale = max(want[1].abs().max().item(), 1e-30)
    torch.testing.assert_close(ours[0].double(), want[0], rtol=rtol, atol=atol)
    torch.testing.assert_close(ours[1].double(), want[1], rtol=rtol, atol=atol * grad_scale)


@pytest.fixture
def small_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strip path for every size, 4-row strips and several group chunks: small inputs take every code path."""
    monkeypatch.setattr(row_contrast, "_DIRECT_ROWS", 0)
    monkeypatch.setattr(row_contrast, "_STRIP_ROWS", 4)
    monkeypatch.setattr(row_contrast, "_STORE_BYTES", 4 * 60 * 8)


@pytest.mark.parametrize("shape", SMALL + STRIPS)
def test_float64_equals_the_reference(shape: tuple[int, int, int]) -> None:
    assert_matches_reference(rows(shape), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", SMALL + STRIPS)
def test_float32_is_as_accurate_as_float32_allows(shape: tuple[int, int, int]) -> None:
    # fp32 against the fp64 reference of the same inputs.
    assert_matches_reference(rows(shape, torch.float32, seed=1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 2, 3), (3, 4, 5), (2, 10, 3), (5, 14, 3), (4, 66, 7)])
def test_the_strip_path_on_small_groups_equals_the_reference(small_strips: None, shape: tuple[int, int, int]) -> None:
    assert_matches_reference(rows(shape, seed=2), rtol=1e-10, atol=1e-12)


def test_the_strip_path_is_taken_above_512_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[int] = []
    chunk = row_contrast._contrast_chunk
    monkeypatch.setattr(row_contrast, "_contrast_chunk", lambda z, *a: taken.append(z.size(1)) or chunk(z, *a))
    contrast_rows(rows((2, 512, 3)))
    assert taken == []
    contrast_rows(rows((2, 514, 3)))
    assert taken == [514]


@pytest.mark.parametrize("shape", [(3, 40, 5), (2, 600, 4)])
def test_without_grad_the_value_is_the_same(shape: tuple[int, int, int]) -> None:
    z = rows(shape, seed=3)
    with torch.no_grad():
        value = contrast_rows(z)
    assert not value.requires_grad
    assert value.item() == pytest.approx(contrast_rows_reference(z).item(), rel=1e-12)
    assert value.item() == contrast_rows(z.detach()).item()


def test_closed_forms() -> None:
    # Zero vectors: every similarity is 0, so each row loss is log(rows - 1).
    assert contrast_rows(torch.zeros(3, 8, 4)).item() == pytest.approx(math.log(7), rel=1e-6)
    # One pair per group: the positive is the only other row, so the loss is exactly 0.
    assert contrast_rows(rows((4, 2, 3))).item() == 0.0
    # Partners 0 and 2 both sqrt(k) e0, partners 1 and 3 both sqrt(k) e1: each row sees its positive at
    # similarity k and two negatives at 0.
    k = 3.0
    z = torch.zeros(1, 4, 2, dtype=torch.float64)
    z[0, [0, 2], 0] = z[0, [1, 3], 1] = math.sqrt(k)
    assert contrast_rows(z).item() == pytest.approx(math.log(1 + 2 * math.exp(-k)), rel=1e-12)


@pytest.mark.parametrize("shape", [(4, 128, 32), (2, 600, 32)])
def test_large_magnitudes_give_finite_exact_gradients(shape: tuple[int, int, int]) -> None:
    z = rows(shape, torch.float32, seed=5, scale=6.0)  # dot products up to ~1e3
    assert (z @ z.mT).abs().max() > 500
    loss, grad = value_and_grad(contrast_rows, z)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    assert_matches_reference(z, rtol=1e-4, atol=1e-5)


def test_second_backward_with_retained_graph_accumulates() -> None:
    z = rows((3, 20, 4), seed=6)
    loss = contrast_rows(z)
    loss.backward(retain_graph=True)
    loss.backward()
    _, want = value_and_grad(contrast_rows_reference, z)
    torch.testing.assert_close(z.grad, 2 * want)


def test_the_gradient_is_scaled_by_the_upstream_gradient() -> None:
    z = rows((3, 20, 4), seed=6)
    (grad,) = torch.autograd.grad(contrast_rows(z), z, torch.tensor(-2.5, dtype=torch.float64))
    torch.testing.assert_close(grad, -2.5 * value_and_grad(contrast_rows_reference, z)[1])


def test_higher_order_gradients_are_refused() -> None:
    z = rows((3, 20, 4), seed=6)
    with pytest.raises(TsclError, match="create_graph=True"):
        torch.autograd.grad(contrast_rows(z), z, create_graph=True)


def test_low_precision_inputs_are_computed_in_float32() -> None:
    z = rows((3, 24, 8), torch.bfloat16, seed=8)
    loss = contrast_rows(z)
    loss.backward()
    assert loss.dtype == torch.bfloat16 and z.grad is not None and z.grad.dtype == torch.bfloat16
    want = contrast_rows_reference(z.detach().double())
    assert loss.item() == pytest.approx(want.item(), rel=1e-2)
    # Computed in fp32, then rounded once: the fp32 result of the same (exactly representable) inputs.
    exact = contrast_rows(z.detach().float())
    assert loss.item() == exact.to(torch.bfloat16).item()


def test_autocast_does_not_apply() -> None:
    z = rows((3, 24, 8), torch.float32, seed=9)
    plain = value_and_grad(contrast_rows, z)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        cast = value_and_grad(contrast_rows, z)
    assert cast[0].dtype == torch.float32
    assert torch.equal(cast[0], plain[0]) and torch.equal(cast[1], plain[1])


@pytest.mark.parametrize("shape", [(2, 3, 4), (0, 4, 2), (2, 0, 4), (4, 2)])
def test_malformed_stacks_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(TsclError, match=r"\[G, 2N, D\]"):
        contrast_rows(torch.zeros(shape))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("shape", [(4, 100, 16), (2, 600, 8)])
def test_cuda_matches_cpu(shape: tuple[int, int, int]) -> None:
    z = rows(shape, seed=11)
    cpu = value_and_grad(contrast_rows, z)
    gpu = value_and_grad(contrast_rows, z.detach().cuda().requires_grad_())
    for got, want in zip(gpu, cpu, strict=True):
        torch.testing.assert_close(got.cpu(), want, rtol=1e-10, atol=1e-12)


def _autocast_before_torch_2_5(device_type: str, **kwargs: object) -> object:
    if device_type == "mps":  # torch 2.1-2.4: MPS has no autocast, even a disabled one
        raise RuntimeError("User specified an unsupported autocast device_type 'mps'")
    return torch.amp.autocast(device_type, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("grad", [True, False])
def test_a_device_type_without_autocast_still_contrasts(grad: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "autocast", _autocast_before_torch_2_5)
    z = rows((2, 8, 4), torch.float32, seed=3).detach().requires_grad_(grad)
    monkeypatch.setattr(Tensor, "device", property(lambda self: torch.device("mps")))  # z as an MPS tensor
    loss = contrast_rows(z)
    monkeypatch.undo()
    if grad:
        loss.backward()
        assert z.grad is not None and torch.isfinite(z.grad).all()
    torch.testing.assert_close(loss, contrast_rows_reference(z.detach()))


@pytest.mark.parametrize("grad", [True, False])
def test_meta_tensors_contrast(grad: bool) -> None:
    z = torch.empty(2, 8, 4, device="meta", requires_grad=grad)
    loss = contrast_rows(z)
    if grad:
        loss.backward()
        assert z.grad is not None and z.grad.shape == z.shape
    assert loss.device.type == "meta" and loss.shape == ()
