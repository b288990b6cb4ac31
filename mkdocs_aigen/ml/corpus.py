"""The fine-tuning corpus: prompt/completion examples, deduplicated and split by document.

Files in the corpus dir: ``train.jsonl`` and ``validation.jsonl`` (one
``{"doc", "source", "prompt", "completion"}`` object a line, sorted by document) and
``stats.json`` (counts per split and source, and the corpus ``digest``). A document goes to
validation when a hash of its id falls below ``validation_fraction``, so no document is in both
splits and the split does not change when other documents come or go; a corpus of two or more
documents always has at least one in each split.

What the examples are is the site's business (:mod:`mkdocs_aigen.site_corpus`); the
``mkdocs-aigen corpus`` command wires the two together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.safeio import atomic_write_text
from mkdocs_aigen.ml.package_corpus import stable_hash

SPLITS = ("train", "validation")
STATS = "stats.json"
FORMAT = "mkdocs-aigen-site-corpus/1"
VALIDATION_FRACTION = 0.1


class SiteCorpusError(AigenError):
    """The fine-tuning corpus cannot be built or read."""


@dataclass(frozen=True)
class Example:
    """One training example: the model reads ``prompt`` and learns to write ``completion``."""

    doc: str
    source: str
    prompt: str
    completion: str


def split_documents(doc_ids: Iterable[str], validation_fraction: float = VALIDATION_FRACTION) -> dict[str, str]:
    """``doc id -> "train" | "validation"`` by a hash of the id alone (see the module docstring)."""
    if not 0 < validation_fraction < 1:
        raise SiteCorpusError(f"validation fraction {validation_fraction}: use a number between 0 and 1, e.g. 0.1")
    ranked = sorted(set(doc_ids), key=lambda doc: (stable_hash("site-split:" + doc), doc))
    split = {doc: "validation" if stable_hash("site-split:" + doc) < validation_fraction * 2**64 else "train"
             for doc in ranked}
    if len(ranked) >= 2:
        split[ranked[0]] = "validation"  # the lowest hash: validation even when the fraction rounds to none
    if ranked:
        split[ranked[-1]] = "train"  # the highest hash: train, so training always has a document
    return split


def deduplicate(examples: Iterable[Example]) -> tuple[list[Example], int]:
    """The examples without repeated completions (whitespace-insensitive; first one kept), and the drop count."""
    seen: set[bytes] = set()
    kept, dropped = [], 0
    for example in examples:
        key = hashlib.sha256(" ".join(example.completion.split()).encode("utf-8")).digest()
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        kept.append(example)
    return kept, dropped


def build_corpus(examples: Iterable[Example], out_dir: Path, *, validation_fraction: float = VALIDATION_FRACTION,
                 tokenizer_dir: Path | None = None) -> dict:
    """Deduplicate and split ``examples``, write the corpus files into ``out_dir`` and return the stats.

    Tokens are counted with the tokenizer in ``tokenizer_dir`` when it has a ``tokenizer.json``,
    else as whitespace-separated words.
    """
    kept, dropped = deduplicate(examples)
    split_of = split_documents((e.doc for e in kept), validation_fraction)
    by_split: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for example in sorted(kept, key=lambda e: e.doc):  # stable sort: a page keeps its section order
        by_split[split_of[example.doc]].append(example)
    lines = {name: "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in items)
             for name, items in by_split.items()}
    count, unit = token_counter(tokenizer_dir)
    stats = {
        "format": FORMAT,
        "digest": _digest(lines),
        "validation_fraction": validation_fraction,
        "token_unit": unit,
        "duplicates_dropped": dropped,
        "splits": {name: _tally(items, count) for name, items in by_split.items()},
        "sources": {source: _tally([e for e in kept if e.source == source], count)
                    for source in sorted({e.source for e in kept})},
    }
    out_dir = Path(out_dir)
    for name in SPLITS:
        atomic_write_text(out_dir / f"{name}.jsonl", lines[name])
    atomic_write_text(out_dir / STATS, json.dumps(stats, indent=2, sort_keys=True) + "\n")
    return stats


def _digest(lines: dict[str, str]) -> str:
    sha = hashlib.sha256(FORMAT.encode())
    for name in SPLITS:
        sha.update(f"\0{name}\0".encode() + lines[name].encode("utf-8"))
    return "sha256:" + sha.hexdigest()


def _tally(examples: list[Example], count: Callable[[list[str]], int]) -> dict[str, int]:
    return {
        "documents": len({e.doc for e in examples}),
        "examples": len(examples),
        "tokens": count([e.prompt + e.completion for e in examples]),
        "completion_tokens": count([e.completion for e in examples]),
    }


def token_counter(tokenizer_dir: Path | None) -> tuple[Callable[[list[str]], int], str]:
    """A function counting the tokens of texts, and its unit (``tokens`` or ``words``)."""
    tokenizer_file = Path(tokenizer_dir) / "tokenizer.json" if tokenizer_dir else None
    if tokenizer_file is None or not tokenizer_file.is_file():
        return (lambda texts: sum(len(text.split()) for text in texts)), "words"
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    return (lambda texts: sum(len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False))), "tokens"


def read_examples(corpus_dir: Path, split: str) -> list[Example]:
    """The examples of one split of a built corpus."""
    path = Path(corpus_dir) / f"{split}.jsonl"
    try:
        with path.open(encoding="utf-8") as handle:
            return [Example(**json.loads(line)) for line in handle if line.strip()]
    except FileNotFoundError:
        raise SiteCorpusError(f"{path}: no corpus here; run 'mkdocs-aigen corpus'") from None
    except (ValueError, TypeError) as error:
        raise SiteCorpusError(f"{path}: damaged corpus file ({error}); rebuild it with 'mkdocs-aigen corpus'") from None


def read_stats(corpus_dir: Path) -> dict:
    """The corpus' ``stats.json``; ``{}`` when there is none or it is unreadable."""
    try:
        stats = json.loads((Path(corpus_dir) / STATS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stats if isinstance(stats, dict) else {}


def format_stats(stats: dict) -> str:
    """Human-readable summary: documents, examples and tokens, per split and per source."""
    unit = stats["token_unit"]
    splits = stats["splits"]
    total = {key: sum(s[key] for s in splits.values()) for key in ("documents", "examples", "tokens")}
    lines = [
        f"corpus: {total['documents']} documents ({splits['train']['documents']} train, "
        f"{splits['validation']['documents']} validation), {total['examples']} examples, "
        f"{total['tokens']:,} {unit} ({stats['duplicates_dropped']} duplicates dropped)"
    ]
    for source, tally in stats["sources"].items():
        lines.append(f"  {source:<10} {tally['documents']:>5} documents {tally['examples']:>6} examples "
                     f"{tally['tokens']:>9,} {unit}")
    return "\n".join(lines)
