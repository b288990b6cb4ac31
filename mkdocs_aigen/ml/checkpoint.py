"""Model directories: weight digests, safe loading, atomic saving, model cards.

torch and transformers are imported inside the functions that need them; :func:`weights_digest`
never imports them, so a warm build can key its cache without loading a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.safeio import TEMP_SUFFIX, atomic_write_text

CARD_NAME = "aigen-model.json"
QUANTIZE_CHOICES = ("int8",)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
_HASH_CHUNK = 1 << 20

# Absolute file path -> (size, mtime_ns, sha256 hex) of every weight file hashed in this process.
_FILE_DIGESTS: dict[str, tuple[int, int, str]] = {}


class ModelDirError(AigenError):
    """A model directory is missing, incomplete, or holds weights in an unsafe format."""


def _require_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise ModelDirError(
            f"model dir {model_dir} does not exist: set `model_dir` to a directory written by "
            "`mkdocs-aigen train` (or a transformers save_pretrained directory)"
        )


def _weight_files(model_dir: Path) -> list[Path]:
    """The directory's ``*.safetensors`` files sorted by name; ModelDirError if there are none."""
    _require_dir(model_dir)
    files = sorted(model_dir.glob("*.safetensors"), key=lambda path: path.name)
    if not files:
        found = ", ".join(sorted(p.name for p in model_dir.glob("*.bin"))) or "no weights"
        raise ModelDirError(
            f"model dir {model_dir} has no *.safetensors weights (found: {found}); only "
            "safetensors are loaded: re-save it with save_pretrained(safe_serialization=True)"
        )
    return files


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
                digest.update(chunk)
    except OSError as error:
        raise ModelDirError(f"{path}: cannot read the weights ({error.strerror or error}); "
                            "make it readable or replace the model dir") from None
    return digest.hexdigest()


def _load_memo(memo_file: Path | None) -> dict[str, list]:
    if memo_file is None or not memo_file.is_file():
        return {}
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged memo only costs a re-hash
    return memo if isinstance(memo, dict) else {}


def weights_digest(model_dir: str | os.PathLike, memo_file: Path | None = None) -> str:
    """``"sha256:<hex>"`` over the names and bytes of the dir's ``*.safetensors`` files.

    Each file's hash is memoised by (path, size, mtime_ns), in-process and, when ``memo_file``
    is given, in that JSON file (``{path: [size, mtime_ns, sha256]}``), so unchanged weights
    are never re-read.
    """
    memo = _load_memo(memo_file)
    memo_changed = False
    combined = hashlib.sha256()
    for path in _weight_files(Path(model_dir)):
        key = str(path.resolve())
        stat = path.stat()
        known = _FILE_DIGESTS.get(key)
        if known is None or known[:2] != (stat.st_size, stat.st_mtime_ns):
            stored = memo.get(key)
            if isinstance(stored, list) and stored[:2] == [stat.st_size, stat.st_mtime_ns]:
                known = (stat.st_size, stat.st_mtime_ns, str(stored[2]))
            else:
                known = (stat.st_size, stat.st_mtime_ns, _hash_file(path))
            _FILE_DIGESTS[key] = known
        if memo.get(key) != list(known):
            memo[key] = list(known)
            memo_changed = True
        combined.update(f"{path.name}\0{known[2]}\n".encode())
    if memo_file is not None and memo_changed:
        atomic_write_text(Path(memo_file), json.dumps(memo, indent=1, sort_keys=True))
    return f"sha256:{combined.hexdigest()}"


def _check_model_dir(model_dir: Path) -> None:
    """Raise ModelDirError naming what a loadable model dir lacks."""
    _require_dir(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ModelDirError(
            f"model dir {model_dir} has no config.json: point `model_dir` at a directory written "
            "by `mkdocs-aigen train` or save_pretrained()"
        )
    _weight_files(model_dir)
    if not any((model_dir / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelDirError(
            f"model dir {model_dir} has no tokenizer files ({', '.join(_TOKENIZER_FILES)}): "
            "save the tokenizer into it with tokenizer.save_pretrained()"
        )


def damaged_model_dir(model_dir: Path, problem: Exception | str) -> ModelDirError:
    """The one-line error for a model dir whose files are there but do not load or run."""
    if isinstance(problem, Exception):
        problem = f"{type(problem).__name__}: {(str(problem).strip().splitlines() or [''])[0][:200]}"
    return ModelDirError(
        f"model dir {model_dir} is damaged ({problem}); replace it with a complete save_pretrained() "
        "directory, or run `mkdocs-aigen train` again when it is the site's .aigen/model"
    )


def _quiet_transformers() -> None:
    """No per-file progress bars from transformers: build and CLI output stays readable."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def load_causal_lm(
    model_dir: str | os.PathLike, device: str | None = None, quantize: str | None = None
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local dir: safetensors only, no remote code, eval mode.

    ``device``: default CUDA when available, else CPU. ``quantize="int8"``: dynamic int8
    quantisation of the ``nn.Linear`` layers (CPU only). The tokenizer pads on the left and
    has a pad token (EOS when it had none). A PEFT adapter dir loads its base (see
    :func:`adapter_base_dir`) with the adapters merged in. A damaged dir is one
    :class:`ModelDirError` line.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir = Path(model_dir)
    model_dir = adapter_base_dir(adapter_dir) or adapter_dir
    _check_model_dir(model_dir)
    require_builtin_causal_lm(model_dir)
    _quiet_transformers()
    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES} or None, not {quantize!r}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if quantize and torch.device(device).type != "cpu":
        raise ValueError(f"quantize={quantize!r} runs on CPU only, not on device {device!r}")

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_dir, local_files_only=True, trust_remote_code=False
        )
        model = AutoModelForCausalLM.from_pretrained(
            model_dir, use_safetensors=True, trust_remote_code=False, local_files_only=True
        )
        if model_dir != adapter_dir:
            model = _merge_adapter(model, adapter_dir)
    except ModelDirError:
        raise
    except Exception as error:  # whatever a damaged file makes transformers/safetensors/peft raise
        raise damaged_model_dir(adapter_dir, error) from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    model.eval()
    if quantize == "int8":
        with warnings.catch_warnings():  # torch >= 2.9 flags torch.ao as deprecated; it still works
            warnings.simplefilter("ignore", (DeprecationWarning, UserWarning))
            model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
    return model, tokenizer


def save_model_dir(model: Any, tokenizer: Any, out_dir: str | os.PathLike, card: dict) -> Path:
    """Write weights (safetensors), config, tokenizer and the card to ``out_dir``, replacing it.

    Everything is written into a temp dir next to ``out_dir`` which is then renamed over it,
    so readers never see a half-written model.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _quiet_transformers()
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=TEMP_SUFFIX, dir=out_dir.parent))
    retired = None
    try:
        model.save_pretrained(staging, safe_serialization=True, max_shard_size="16MB")
        tokenizer.save_pretrained(staging)
        atomic_write_text(staging / CARD_NAME, json.dumps(card, indent=2, sort_keys=True) + "\n")
        retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", suffix=TEMP_SUFFIX, dir=out_dir.parent))
        if out_dir.exists():
            os.replace(out_dir, retired / out_dir.name)
        try:
            os.replace(staging, out_dir)
        except BaseException:
            if (retired / out_dir.name).exists():
                os.replace(retired / out_dir.name, out_dir)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and out_dir.exists():
            shutil.rmtree(retired, ignore_errors=True)
    return out_dir


def read_model_card(model_dir: str | os.PathLike) -> dict:
    """The dir's ``aigen-model.json`` card; ``{}`` for a model dir without one."""
    card_path = Path(model_dir) / CARD_NAME
    if not card_path.is_file():
        return {}
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelDirError(
            f"{card_path} is not valid JSON ({exc}); delete it or retrain with `mkdocs-aigen train`"
        ) from None
    if not isinstance(card, dict):
        raise ModelDirError(f"{card_path} must hold a JSON object; delete it or retrain")
    return card


ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def is_model_dir(path: Path) -> bool:
    """Whether ``path`` holds a model: a transformers model dir or a PEFT adapter dir."""
    return (path / "config.json").is_file() or (path / ADAPTER_CONFIG).is_file()


def adapter_base_dir(model_dir: str | os.PathLike) -> Path | None:
    """The base model dir of a PEFT adapter dir (``base_model_name_or_path`` in its
    adapter_config.json; a relative path counts from the adapter dir); ``None`` for a model dir."""
    config_path = Path(model_dir) / ADAPTER_CONFIG
    if not config_path.is_file():
        return None
    try:
        base = json.loads(config_path.read_text(encoding="utf-8"))["base_model_name_or_path"]
        base_dir = Path(model_dir) / base
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelDirError(f"{config_path}: no readable base_model_name_or_path ({exc}); "
                            "retrain with `mkdocs-aigen train --lora`") from None
    if not (base_dir / "config.json").is_file():
        raise ModelDirError(f"{config_path}: base_model_name_or_path {base!r} is not a local model dir; "
                            "point it at the base the adapter was trained on")
    return base_dir


def _merge_adapter(model: Any, adapter_dir: Path) -> Any:
    """``model`` with the LoRA adapters of ``adapter_dir`` (safetensors only) merged into its weights."""
    if not (adapter_dir / ADAPTER_WEIGHTS).is_file():
        raise ModelDirError(f"adapter dir {adapter_dir} has no {ADAPTER_WEIGHTS}; only safetensors are loaded")
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelDirError(f"{adapter_dir} is a LoRA adapter and loading it needs peft: "
                            "pip install 'mkdocs-aigen[lora]'") from None
    with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
        warnings.simplefilter("ignore", FutureWarning)
        return PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()


def require_builtin_causal_lm(model_dir: Path) -> None:
    """ModelDirError unless config.json names a causal-LM architecture built into transformers."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        model_type = json.loads((model_dir / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise damaged_model_dir(model_dir, f"config.json is not a JSON object: {exc}") from None
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ModelDirError(f"model dir {model_dir}: model_type {model_type!r} is not a causal LM built into "
                            "transformers (remote code is never run); use a supported architecture")
