"""Wording shared by messages and reports."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from os import PathLike


def shell(arg: str | PathLike[str]) -> str:
    """``arg`` as a shell word, quoted only when needed (``runs/my run`` -> ``'runs/my run'``), so that the
    commands that hints show can be pasted as they are."""
    return shlex.quote(str(arg))


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 epoch``, ``2 epochs`` (``nouns``: an irregular plural)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def listing(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words)
