"""`LastPositionEncoder` (only the positions the last output reads) against the whole stack's last step."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from tscl.kernels.last_position import (
    DilatedConv,
    DilatedStack,
    LastPositionEncoder,
    ResidualBlock,
    last_position_reference,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: a second thread only adds waiting


def random_stack(widths: list[int], channels: int, seed: int = 0, biases: bool = True, kernel: int = 3) -> DilatedStack:
    """Blocks of the given widths after a projection to ``widths[0]``; the last block always projects."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64) / shape[-1] ** 0.5

    def conv(c_out: int, c_in: int, dilation: int) -> DilatedConv:
        return DilatedConv(rand(c_out, c_in, kernel), rand(c_out) if biases else None, dilation)

    blocks = []
    for i, (c_in, c_out) in enumerate(zip(widths[:1] + widths[:-1], widths, strict=True)):
        project = c_in != c_out or i == len(widths) - 1
        projector = (rand(c_out, c_in), rand(c_out) if biases else None) if project else None
        blocks.append(ResidualBlock(conv(c_out, c_in, 2**i), conv(c_out, c_out, 2**i), projector))
    return DilatedStack(rand(widths[0], channels), rand(widths[0]), blocks)


@pytest.mark.parametrize(
    ("length", "channels", "widths"),
    [(1, 1, [4, 4, 6]), (2, 3, [4, 4, 4, 5]), (17, 2, [5, 5, 3, 3, 3, 4]), (64, 1, [4] * 7 + [6]),
     (201, 7, [6] * 10 + [8])],
)  # fmt: skip
def test_equals_the_last_step_of_the_whole_stack(length: int, channels: int, widths: list[int]) -> None:
    # The deepest blocks (2^i >= length) see a single position; a width change mid-stack adds a projector.
    stack = random_stack(widths, channels)
    x = torch.randn(6, length, channels, dtype=torch.float64)
    x[0, : length // 2] = float("nan")  # left padding of an early window
    x[1, -1, 0] = float("nan")  # one missing channel: the whole step is missing
    fast = LastPositionEncoder(stack, length)(x)
    torch.testing.assert_close(fast, last_position_reference(x, stack), atol=1e-12, rtol=1e-10)


def test_without_biases_and_in_float32() -> None:
    stack = random_stack([5, 5, 5, 4], channels=2, seed=1, biases=False)
    stack32 = DilatedStack(
        stack.input_weight.float(),
        stack.input_bias.float(),
        [
            ResidualBlock(
                *(DilatedConv(c.weight.float(), None, c.dilation) for c in (b.conv1, b.conv2)),
                None if b.projector is None else (b.projector[0].float(), None),
            )
            for b in stack.blocks
        ],
    )
    x = torch.randn(4, 30, 2, dtype=torch.float64)
    fast = LastPositionEncoder(stack32, 30)(x.float())
    assert fast.dtype == torch.float32
    torch.testing.assert_close(fast.double(), last_position_reference(x, stack), atol=1e-5, rtol=1e-5)


def test_reads_only_the_last_length_steps_and_makes_no_graph() -> None:
    stack = random_stack([4, 4, 5], channels=3, seed=2)
    x = torch.randn(2, 25, 3, dtype=torch.float64, requires_grad=True)
    out = LastPositionEncoder(stack, 9)(x)
    assert not out.requires_grad
    torch.testing.assert_close(out, last_position_reference(x[:, -9:].detach(), stack), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize(("kernel", "dilations"), [(5, (1, 2)), (3, (1, 3)), (3, (2, 4))])
def test_other_structures_are_refused(kernel: int, dilations: tuple[int, int]) -> None:
    stack = random_stack([4, 4], channels=2, kernel=kernel)
    blocks = [
        ResidualBlock(b.conv1._replace(dilation=d), b.conv2._replace(dilation=d), b.projector)
        for b, d in zip(stack.blocks, dilations, strict=True)
    ]
    with pytest.raises(ValueError, match="kernel-3 blocks with dilations 1, 2, 4"):
        LastPositionEncoder(stack._replace(blocks=blocks), 10)
