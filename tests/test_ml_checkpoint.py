"""Model dirs: digests and their memo, loading checks, atomic saving, model cards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mkdocs_aigen.ml import checkpoint
from mkdocs_aigen.ml.checkpoint import (
    CARD_NAME,
    ModelDirError,
    load_causal_lm,
    read_model_card,
    save_model_dir,
    weights_digest,
)

pytestmark = pytest.mark.build


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny model dir that a test may modify."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def _weights(model_dir: Path) -> Path:
    (weights,) = model_dir.glob("*.safetensors")
    return weights


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_digest_is_stable_and_independent_of_location(tiny_model_dir: Path, model_copy: Path):
    digest = weights_digest(tiny_model_dir)
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert weights_digest(tiny_model_dir) == digest
    assert weights_digest(model_copy) == digest


def test_digest_changes_when_a_weight_changes(model_copy: Path):
    before = weights_digest(model_copy)
    _flip_last_byte(_weights(model_copy))
    assert weights_digest(model_copy) != before


def test_digest_memo_skips_unchanged_files(model_copy: Path, monkeypatch):
    before = weights_digest(model_copy)
    weights = _weights(model_copy)
    stat = weights.stat()
    _flip_last_byte(weights)  # same size; restore mtime: the memo must not notice
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    hashed: list[Path] = []
    real_hash = checkpoint._hash_file
    monkeypatch.setattr(checkpoint, "_hash_file", lambda p: hashed.append(p) or real_hash(p))
    assert weights_digest(model_copy) == before
    assert hashed == []
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert weights_digest(model_copy) != before
    assert hashed == [weights]


def test_persistent_memo_is_used_across_processes(model_copy: Path, tmp_path: Path, monkeypatch):
    memo_file = tmp_path / "memo" / "digests.json"
    digest = weights_digest(model_copy, memo_file=memo_file)
    weights = _weights(model_copy)
    stored = json.loads(memo_file.read_text())[str(weights.resolve())]
    assert stored[:2] == [weights.stat().st_size, weights.stat().st_mtime_ns]
    monkeypatch.setattr(checkpoint, "_FILE_DIGESTS", {})  # a fresh process

    def no_hashing(path):
        raise AssertionError(f"re-hashed {path}")

    monkeypatch.setattr(checkpoint, "_hash_file", no_hashing)
    assert weights_digest(model_copy, memo_file=memo_file) == digest


def test_digest_does_not_import_torch(tiny_model_dir: Path):
    code = (
        "import sys; from mkdocs_aigen.ml.checkpoint import weights_digest; "
        f"weights_digest({str(tiny_model_dir)!r}); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pytorch_bin_only_dir_is_rejected(model_copy: Path):
    _weights(model_copy).rename(model_copy / "pytorch_model.bin")
    with pytest.raises(ModelDirError, match=r"no \*\.safetensors.*pytorch_model\.bin") as info:
        load_causal_lm(model_copy, device="cpu")
    assert str(model_copy) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ModelDirError):
        weights_digest(model_copy)


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("config.json", "no config.json"),
        ("tokenizer*", "no tokenizer files"),
        ("*", "does not exist"),
    ],
)
def test_incomplete_model_dir_is_rejected(model_copy: Path, remove: str, message: str):
    if remove == "*":
        shutil.rmtree(model_copy)
    for path in model_copy.glob(remove):
        path.unlink()
    with pytest.raises(ModelDirError, match=message):
        load_causal_lm(model_copy, device="cpu")


def test_load_prepares_model_and_tokenizer(tiny_model_dir: Path):
    model, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    assert not model.training
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token_id is not None
    with pytest.raises(ValueError, match="quantize"):
        load_causal_lm(tiny_model_dir, device="cpu", quantize="int4")


def test_save_model_dir_replaces_dir_and_writes_card(tiny_model_dir: Path, tmp_path: Path):
    model, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    out_dir = tmp_path / "out" / "model"
    out_dir.mkdir(parents=True)
    (out_dir / "stale.txt").write_text("from an older model")
    assert save_model_dir(model, tokenizer, out_dir, {"kind": "test", "steps": 3}) == out_dir
    assert read_model_card(out_dir) == {"kind": "test", "steps": 3}
    assert not (out_dir / "stale.txt").exists()
    assert list(out_dir.parent.iterdir()) == [out_dir]  # no staging leftovers
    assert weights_digest(out_dir) == weights_digest(tiny_model_dir)
    assert read_model_card(tiny_model_dir)["kind"] == "tiny-test-model"


def test_model_card_errors(model_copy: Path):
    (model_copy / CARD_NAME).unlink()
    assert read_model_card(model_copy) == {}
    (model_copy / CARD_NAME).write_text("{not json")
    with pytest.raises(ModelDirError, match=CARD_NAME):
        read_model_card(model_copy)
