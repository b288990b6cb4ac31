"""The corpus pipeline of both corpora: one split rule, one docstring reader, one dir format.

Two corpora use it: the site's fine-tuning corpus (prompt/completion examples, below; which
examples is :mod:`mkdocs_aigen.site_corpus`'s business) and the pretraining corpus of installed
packages' documentation (:mod:`mkdocs_aigen.ml.package_corpus`).

**Split.** A document goes to ``validation`` when a hash of its id falls below
``validation_fraction`` (:func:`split_of`), so no document is in both splits and a document keeps
its split when others come or go. :func:`split_documents` adds one guarantee: a corpus of two or
more documents has at least one in each split (the lowest / highest hash moves when a split would
otherwise be empty); a single document goes to ``train``.

**Corpus dir** (:class:`CorpusWriter`, :func:`read_manifest`, :func:`read_records`):
``train-NNNNN.jsonl`` / ``validation-NNNNN.jsonl`` shards of about ``shard_bytes`` (one JSON
object a line, each with ``doc`` and ``source``) and ``manifest.json``, written last:
``format``, ``kind`` (``site`` or ``packages``), ``digest`` (of every line, split by split),
``shards`` per split, ``secrets_redacted`` (secrets found in the text and replaced, see
:mod:`mkdocs_aigen.ml.secrets`: none reaches a model), and what the corpus adds:

* ``site``: records ``{"doc", "source", "prompt", "completion"}`` sorted by document; the
  manifest adds ``validation_fraction``, ``token_unit``, ``duplicates_dropped`` and document /
  example / token counts per split and per source;
* ``packages``: records ``{"doc", "source", "text"}`` in hash order of the document id; the
  manifest adds the ``recipe``, ``roots``, ``python``, ``stats`` and ``licences``.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.ml.secrets import redact_secrets
from mkdocs_aigen.safeio import atomic_write_text

SPLITS = ("train", "validation")
ID_FIELDS = ("doc", "source")
MANIFEST = "manifest.json"
FORMAT = "mkdocs-aigen-corpus/2"
SITE, PACKAGES = "site", "packages"
REBUILD_HINTS = {SITE: "run 'mkdocs-aigen corpus'", PACKAGES: "delete it and run 'mkdocs-aigen pretrain' again"}
SHARD_BYTES = 8_000_000
VALIDATION_FRACTION = 0.1
SKIPPED_DIRS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "dist-packages", "test", "tests", "idle_test"}
)


class CorpusError(AigenError):
    """A corpus cannot be built or read."""


# ---------------------------------------------------------------- split


def stable_hash(value: str) -> int:
    """A 64-bit hash that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest()[:8], "big")


def _split_key(doc: str) -> int:
    return stable_hash("split:" + doc)


def split_of(doc: str, validation_fraction: float) -> str:
    """``"validation"`` or ``"train"``, decided by a hash of the document id alone."""
    return "validation" if _split_key(doc) < validation_fraction * 2**64 else "train"


def split_documents(docs: Iterable[str], validation_fraction: float = VALIDATION_FRACTION) -> dict[str, str]:
    """``doc id -> split`` by :func:`split_of`, with the two-document guarantee of the module docstring."""
    if not 0 < validation_fraction < 1:
        raise CorpusError(f"validation fraction {validation_fraction}: use a number between 0 and 1, e.g. 0.1")
    ids = set(docs)
    split = {doc: split_of(doc, validation_fraction) for doc in ids}
    if len(ids) == 1:
        split.update(dict.fromkeys(ids, "train"))
    elif ids:
        for wanted, pick in (("validation", min), ("train", max)):
            if wanted not in split.values():
                split[pick(ids, key=lambda doc: (_split_key(doc), doc))] = wanted
    return split


# ---------------------------------------------------------------- sources


def walk_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` in sorted order, skipping caches, tests and hidden dirs."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            yield Path(dirpath, name)


def module_name(rel_path: str) -> str:
    """``pkg/io.py`` → ``pkg.io``; ``pkg/__init__.py`` → ``pkg``."""
    return rel_path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


@dataclass(frozen=True)
class Definition:
    """A public class or function of a module (``__init__`` counts as public)."""

    qualname: str  # inside the module, e.g. ``Cache.get``
    depth: int  # 0 at module level, 1 inside a class, ...
    node: ast.AST

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    @property
    def signature(self) -> str:
        """``class Name`` or ``name(args)`` as written in the source."""
        if self.is_class:
            return f"class {self.qualname}"
        try:
            return f"{self.qualname}({ast.unparse(self.node.args)})"
        except (ValueError, RecursionError):
            return f"{self.qualname}(...)"

    @property
    def docstring(self) -> str:
        """The cleaned docstring; empty when there is none."""
        docstring = ast.get_docstring(self.node)
        return inspect.cleandoc(docstring) if docstring else ""


def python_docs(source: str) -> tuple[str, list[Definition]] | None:
    """The module's cleaned docstring (may be empty) and its public definitions, depth first in
    source order (a private class's members are left out too); ``None`` when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    definitions: list[Definition] = []

    def visit(node: ast.AST, depth: int, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if child.name.startswith("_") and child.name != "__init__":
                    continue
                definitions.append(Definition(prefix + child.name, depth, child))
                if isinstance(child, ast.ClassDef):
                    visit(child, depth + 1, f"{prefix}{child.name}.")

    visit(tree, 0, "")
    module_doc = ast.get_docstring(tree)
    return (inspect.cleandoc(module_doc) if module_doc else ""), definitions


def code_without_docstring(source: str, definition: Definition, max_lines: int) -> str | None:
    """A documented definition's source, dedented, without its docstring; ``None`` when it is longer
    than ``max_lines`` or nothing but the docstring."""
    node = definition.node
    lines = source.splitlines()
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    if node.end_lineno - first > max_lines:
        return None
    docstring = node.body[0]
    keep = lines[first:docstring.lineno - 1] + lines[docstring.end_lineno:node.end_lineno]
    if not any(line.strip() for line in lines[docstring.end_lineno:node.end_lineno]):
        return None
    indent = min(len(line) - len(line.lstrip()) for line in keep if line.strip())
    return "\n".join(line[indent:] for line in keep).strip("\n")


# ---------------------------------------------------------------- corpus dir


class CorpusWriter:
    """Writes a corpus dir: records into shards per split as they come, the manifest at :meth:`finish`.

    Opening it removes the dir's old manifest first, then its shards, so an interrupted build
    leaves no corpus rather than a mixed one.
    """

    def __init__(self, out_dir: Path, kind: str, shard_bytes: int = SHARD_BYTES) -> None:
        self.out_dir, self.kind, self.shard_bytes = Path(out_dir), kind, shard_bytes
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / MANIFEST).unlink(missing_ok=True)
        for stale in self.out_dir.glob("*.jsonl"):
            stale.unlink()
        self.pending: dict[str, list[str]] = {split: [] for split in SPLITS}
        self.sizes = dict.fromkeys(SPLITS, 0)
        self.shards: dict[str, list[str]] = {split: [] for split in SPLITS}
        self.digests = {split: hashlib.sha256() for split in SPLITS}
        self.secrets_redacted = 0

    def add(self, split: str, record: dict) -> None:
        """Write ``record`` with the secrets in its text redacted (its ``doc`` and ``source`` ids kept)."""
        record = dict(record)
        for name, value in record.items():
            if name not in ID_FIELDS and isinstance(value, str):
                record[name], found = redact_secrets(value)
                self.secrets_redacted += found
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.pending[split].append(line)
        self.digests[split].update(line.encode("utf-8"))
        self.sizes[split] += len(line.encode("utf-8"))
        if self.sizes[split] >= self.shard_bytes:
            self._flush(split)

    def _flush(self, split: str) -> None:
        if self.pending[split]:
            name = f"{split}-{len(self.shards[split]):05d}.jsonl"
            atomic_write_text(self.out_dir / name, "".join(self.pending[split]))
            self.shards[split].append(name)
            self.pending[split], self.sizes[split] = [], 0

    def finish(self, **fields: object) -> dict:
        """Write the last shards and the manifest (``fields`` added to it); return the manifest."""
        digest = hashlib.sha256(f"{FORMAT}\0{self.kind}".encode())
        for split in SPLITS:
            self._flush(split)
            digest.update(f"\0{split}\0{self.digests[split].hexdigest()}".encode())
        manifest = {"format": FORMAT, "kind": self.kind, "digest": "sha256:" + digest.hexdigest(),
                    "shards": self.shards, "secrets_redacted": self.secrets_redacted, **fields}
        atomic_write_text(self.out_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return manifest


def read_manifest(corpus_dir: Path, kind: str) -> dict:
    """The manifest of a built corpus of ``kind``; CorpusError naming the file when there is none."""
    path = Path(corpus_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorpusError(f"{path}: no corpus here; {REBUILD_HINTS[kind]}") from None
    except (OSError, ValueError) as error:
        raise CorpusError(f"{path}: unreadable corpus manifest ({error}); {REBUILD_HINTS[kind]}") from None
    if not isinstance(manifest, dict) or (manifest.get("format"), manifest.get("kind")) != (FORMAT, kind):
        raise CorpusError(f"{path}: not a {kind} corpus of this mkdocs-aigen version; {REBUILD_HINTS[kind]}")
    return manifest


def read_records(corpus_dir: Path, kind: str, split: str) -> Iterator[dict]:
    """The records of one split, in the order they were written."""
    corpus_dir = Path(corpus_dir)
    for name in read_manifest(corpus_dir, kind)["shards"][split]:
        path = corpus_dir / name
        try:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    yield json.loads(line)
        except (OSError, ValueError) as error:
            raise CorpusError(f"{path}: damaged corpus file ({error}); {REBUILD_HINTS[kind]}") from None


# ---------------------------------------------------------------- the site's fine-tuning corpus


@dataclass(frozen=True)
class Example:
    """One training example: the model reads ``prompt`` and learns to write ``completion``."""

    doc: str
    source: str
    prompt: str
    completion: str


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
    """Deduplicate and split ``examples``, write the site corpus into ``out_dir`` and return its manifest.

    Tokens are counted with the tokenizer in ``tokenizer_dir`` when it has a ``tokenizer.json``,
    else as whitespace-separated words.
    """
    kept, dropped = deduplicate(examples)
    split = split_documents((e.doc for e in kept), validation_fraction)
    by_split: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for example in sorted(kept, key=lambda e: e.doc):  # stable sort: a page keeps its section order
        by_split[split[example.doc]].append(example)
    writer = CorpusWriter(out_dir, SITE)
    for name, items in by_split.items():
        for example in items:
            writer.add(name, asdict(example))
    count, unit = token_counter(tokenizer_dir)
    return writer.finish(
        validation_fraction=validation_fraction,
        token_unit=unit,
        duplicates_dropped=dropped,
        splits={name: _tally(items, count) for name, items in by_split.items()},
        sources={source: _tally([e for e in kept if e.source == source], count)
                 for source in sorted({e.source for e in kept})},
    )


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
    """The examples of one split of a built site corpus."""
    try:
        return [Example(**record) for record in read_records(corpus_dir, SITE, split)]
    except TypeError as error:
        raise CorpusError(f"{Path(corpus_dir)}: damaged corpus ({error}); {REBUILD_HINTS[SITE]}") from None


def read_stats(corpus_dir: Path) -> dict:
    """The site corpus' manifest; ``{}`` when there is none or it is unreadable."""
    try:
        return read_manifest(corpus_dir, SITE)
    except CorpusError:
        return {}


def format_stats(stats: dict) -> str:
    """Human-readable summary: documents, examples and tokens, per split and per source."""
    unit = stats["token_unit"]
    splits = stats["splits"]
    total = {key: sum(s[key] for s in splits.values()) for key in ("documents", "examples", "tokens")}
    lines = [
        f"corpus: {total['documents']} documents ({splits['train']['documents']} train, "
        f"{splits['validation']['documents']} validation), {total['examples']} examples, "
        f"{total['tokens']:,} {unit} ({stats['duplicates_dropped']} duplicates dropped"
        + (f", {stats['secrets_redacted']} secrets redacted)" if stats.get("secrets_redacted") else ")")
    ]
    for source, tally in stats["sources"].items():
        lines.append(f"  {source:<10} {tally['documents']:>5} documents {tally['examples']:>6} examples "
                     f"{tally['tokens']:>9,} {unit}")
    return "\n".join(lines)
