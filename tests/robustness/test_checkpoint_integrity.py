"""A damaged checkpoint is refused, by evaluate and by --resume alike, and the previous one is kept as remedy."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.robustness.helpers import TINY, assert_one_line_error, run_cli, snapshot
from tscl.errors import CheckpointError
from tscl.training.checkpoint import load_checkpoint, save_checkpoint


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))


@pytest.fixture
def run(tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run_dir = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "4", "--checkpoint-every", "2", *TINY, "--run-dir", str(run_dir)],
                           capsys)  # fmt: skip
    assert code == 0, err
    return run_dir


def test_flipped_bytes_are_refused_by_evaluate_and_resume(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoints = run / "checkpoints"
    assert (checkpoints / "last.pt.sha256").is_file() and (checkpoints / "last.previous.pt").is_file()
    _flip_middle(checkpoints / "last.pt")
    before = snapshot(run)
    code, _, err = run_cli(["evaluate", str(run), "--no-baselines", "--no-plots"], capsys)
    line = assert_one_line_error(code, err, "last.pt is damaged")
    assert "last.previous.pt" in err  # the hint names the kept checkpoint
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--iters", "6"], capsys)
    assert_one_line_error(code, err, "last.pt is damaged")
    assert snapshot(run) == before, line  # nothing was written


def test_the_previous_checkpoint_is_the_remedy(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoints = run / "checkpoints"
    _flip_middle(checkpoints / "last.pt")
    (checkpoints / "last.pt").write_bytes((checkpoints / "last.previous.pt").read_bytes())
    (checkpoints / "last.pt.sha256").write_bytes((checkpoints / "last.previous.pt.sha256").read_bytes())
    code, _, err = run_cli(["pretrain", "--resume", str(run), "--iters", "6"], capsys)
    assert code == 0, err
    assert json.loads((run / "meta.json").read_text())["step"] == 6


def test_a_checkpoint_without_recorded_hash_is_checked_by_its_zip_crcs(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "old.pt"
    save_checkpoint(path, {"w": torch.arange(4096.0)})
    (tmp_path / "old.pt.sha256").unlink()  # as written by earlier versions
    assert load_checkpoint(path)["w"].shape == (4096,)
    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 100
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="CRC"):
        load_checkpoint(path)


def test_a_writer_killed_between_the_checkpoint_and_its_hash_leaves_one_that_verifies(tmp_path: Path) -> None:
    """The moments a kill can fall on while a checkpoint is replaced: each leaves a checkpoint that loads."""
    import hashlib
    import io

    import torch

    from tscl.training.checkpoint import FORMAT_VERSION, current_sha256s, digest_path, pending_path, read_checkpoint

    path = tmp_path / "last.pt"
    save_checkpoint(path, {"w": torch.zeros(8)})
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, "w": torch.ones(8)}, buffer)
    new = buffer.getvalue()
    pending_path(path).write_text(hashlib.sha256(new).hexdigest() + "\n")  # killed after recording it as pending
    assert read_checkpoint(path)[0]["w"].sum() == 0
    path.write_bytes(new)  # ... after replacing the checkpoint, before its .sha256
    state, digest = read_checkpoint(path)
    assert state["w"].sum() == 8 and digest in current_sha256s(path) and digest != digest_path(path).read_text().strip()
    save_checkpoint(path, {"w": torch.full((8,), 2.0)}, keep_previous=True)  # the next save tidies up
    assert not pending_path(path).exists() and read_checkpoint(path)[0]["w"].sum() == 16
    assert load_checkpoint(path.with_name("last.previous.pt"))["w"].sum() == 8


def test_a_run_stopped_before_its_first_checkpoint_says_so_and_how_to_train_it(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run killed before its first checkpoint (meta.json says running, no process holds it) used to be told
    to "pass a run directory made by tscl pretrain"; the hint now trains it, after which it evaluates."""
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    meta = json.loads((run / "meta.json").read_text())
    # as meta.json is before the first checkpoint: running, no step (written with each checkpoint)
    (run / "meta.json").write_text(json.dumps({**{k: v for k, v in meta.items() if k not in ("step", "epoch")},
                                               "status": "running"}))  # fmt: skip
    before = snapshot(run)
    code, _, err = run_cli(["evaluate", str(run), "--no-baselines", "--no-plots"], capsys)
    assert_one_line_error(code, err, "must have a checkpoint but has none: it stopped (dead) before saving its first")
    assert f"hint: train it: tscl pretrain --resume {run}" in err and "made by tscl pretrain" not in err
    assert snapshot(run) == before
    assert run_cli(["pretrain", "--resume", str(run)], capsys)[0] == 0
    code, _, err = run_cli(["evaluate", str(run), "--no-baselines", "--no-plots"], capsys)
    assert code == 0, err


def test_a_run_whose_checkpoint_went_missing_says_so_not_that_it_never_saved_one(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run / "checkpoints" / "last.pt").unlink()
    before = snapshot(run)
    code, _, err = run_cli(["encode", str(run), "--out", str(run.parent / "z.npy")], capsys)
    assert_one_line_error(code, err, "checkpoints/last.pt but it does not exist", "deleted or moved since?")
    assert "before saving its first" not in err and f"restore {run / 'checkpoints' / 'last.pt'}" in err
    assert snapshot(run) == before and not (run.parent / "z.npy").exists()
