"""The passage index: the site's authored sections, the package's API, its docstring examples and the
usage snippets in its tests and examples, ranked with :class:`mkdocs_aigen.ranking.Ranker`.

The passages (and the inventory) are stored as JSON under ``.aigen/grounding/``, keyed by a digest of
their sources (the docs' bytes; the package's, tests' and examples' file stats; the options), and
rebuilt only when that digest changes. Text inside draft markers never enters (see
:mod:`.sections`), so neither do unreviewed drafts.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mkdocs_aigen.drafting.frontmatter import split_front_matter
from mkdocs_aigen.errors import FrontMatterError
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.grounding.inventory import ApiObject, Inventory, load_inventory
from mkdocs_aigen.grounding.sections import authored_sections
from mkdocs_aigen.markdown import MARKDOWN_SUFFIXES, iter_headings, slugify
from mkdocs_aigen.ranking import Ranker
from mkdocs_aigen.safeio import atomic_write_text

FORMAT = 1  # bump when the passages' shape changes: stored indexes are rebuilt
SNIPPET_DIRS = ("tests", "test", "examples", "example")
MAX_SNIPPET_FILE = 200_000  # bytes; larger test files are data, not usage
MAX_SNIPPET_CHARS = 1500
INDEX_FILE = "index.json"


@dataclass(frozen=True)
class IndexSources:
    """What the index is built from: the docs, and the documented package with where to find it."""

    docs_dir: Path
    root: Path  # the directory of mkdocs.yml: file sources are relative to it
    package: str | None
    paths: tuple[Path, ...]


class PassageIndex:
    """Passages and the package's inventory; ``search`` ranks passages with bm25s (built on first use).
    ``digest`` is that of the sources the passages come from."""

    def __init__(self, passages: tuple[Passage, ...], inventory: Inventory | None, digest: str = "") -> None:
        self.passages, self.inventory, self.digest = passages, inventory, digest

    @cached_property
    def ranker(self) -> Ranker:
        return Ranker([f"{p.title}\n{p.text}" for p in self.passages])

    def search(self, query: str, k: int, keep: Callable[[Passage], bool] = lambda passage: True) -> list[int]:
        """Indices of up to ``k`` passages matching ``query``, best first (ties in index order), that
        ``keep`` accepts."""
        return self.ranker.top(query, k, lambda i: keep(self.passages[i]))


def load_index(sources: IndexSources, store_dir: Path) -> tuple[PassageIndex, bool]:
    """The index of ``sources``: the stored one when its digest matches, else built and stored (the
    package's part is kept when only the docs changed, so editing a page does not re-read the package).

    Returns the index and whether it was (re)built. Raises :class:`.InventoryError` when the package
    cannot be read.
    """
    docs_digest, package_digest = _docs_digest(sources.docs_dir), _package_digest(sources)
    digest = hashlib.sha256(f"{docs_digest}\0{package_digest}".encode()).hexdigest()
    stored = _read_stored(store_dir / INDEX_FILE)
    if stored.get("digest") == digest:
        return _index(stored, digest), False
    if stored.get("package_digest") != package_digest:
        inventory = load_inventory(sources.package, sources.paths, root=sources.root) if sources.package else None
        stored = {"inventory": inventory.to_dict() if inventory else None,
                  "package_passages": _rows(package_passages(sources, inventory) if inventory else [])}
    payload = {"format": FORMAT, "digest": digest, "package_digest": package_digest,
               "inventory": stored["inventory"], "package_passages": stored["package_passages"],
               "site_passages": _rows(site_passages(sources.docs_dir))}
    store_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(store_dir / INDEX_FILE, json.dumps(payload, ensure_ascii=False))
    return _index(payload, digest), True


def _rows(passages: Iterable[Passage]) -> list[list[str]]:
    return [[p.source, p.title, p.text] for p in passages]


def _read_stored(path: Path) -> dict:
    """The stored index (its payload, checked), or {} when there is none of this format."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format") == FORMAT:
            _index(payload, "")
            return payload
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # missing or damaged: rebuilt
        pass
    return {}


def _index(payload: dict, digest: str) -> PassageIndex:
    """Site passages first, then the package's."""
    inventory = Inventory.from_dict(payload["inventory"]) if payload["inventory"] else None
    rows = payload["site_passages"] + payload["package_passages"]
    return PassageIndex(tuple(Passage(*row) for row in rows), inventory, digest)


def package_passages(sources: IndexSources, inventory: Inventory) -> Iterator[Passage]:
    """The package's API facts and examples, then its usage snippets (each text once)."""
    yield from api_passages(inventory)
    seen = set()
    for passage in snippet_passages(sources, inventory):
        if passage.text not in seen:
            seen.add(passage.text)
            yield passage


# --- Digests of the sources ---------------------------------------------------------------------


def _docs_digest(docs_dir: Path) -> str:
    """Changes when a page's path or bytes change."""
    digest = hashlib.sha256(str(FORMAT).encode())
    for path in markdown_files(docs_dir):
        digest.update(f"\0{path.relative_to(docs_dir).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _package_digest(sources: IndexSources) -> str:
    """Changes with the options, and when a package/test/example file's size or mtime changes."""
    digest = hashlib.sha256(json.dumps([FORMAT, sources.package, [str(p) for p in sources.paths]]).encode())
    for path in _package_files(sources):
        stat = path.stat()
        digest.update(f"\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def markdown_files(docs_dir: Path) -> list[Path]:
    return sorted(p for p in Path(docs_dir).rglob("*") if p.suffix in MARKDOWN_SUFFIXES and p.is_file())


def _package_files(sources: IndexSources) -> list[Path]:
    """The Python files of the package's source and of the test/example folders near it."""
    if not sources.package:
        return []
    folders = [*_package_dirs(sources), *snippet_dirs(sources, _package_dirs(sources))]
    return sorted({p for folder in folders for p in folder.rglob("*.py") if p.is_file()})


def _package_dirs(sources: IndexSources) -> list[Path]:
    """Where the package's source is: under ``paths`` if there, else where it is installed."""
    if not sources.package:
        return []
    top = sources.package.split(".")[0]
    for folder in sources.paths:
        if (folder / top).is_dir():
            return [folder / top]
        if (folder / f"{top}.py").is_file():
            return [folder / f"{top}.py"]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(p) for p in spec.submodule_search_locations]
    return [Path(spec.origin)] if spec.origin and spec.origin.endswith(".py") else []


def snippet_dirs(sources: IndexSources, package_dirs: list[Path]) -> list[Path]:
    """``tests``/``examples`` folders under each of ``paths`` and inside the package."""
    bases = [*sources.paths, *(p for p in package_dirs if p.is_dir())]
    found = []
    for base in bases:
        for name in SNIPPET_DIRS:
            folder = (base / name).resolve()
            if folder.is_dir() and folder not in found:
                found.append(folder)
    return found


# --- Passages -------------------------------------------------------------------------------------


def site_passages(docs_dir: Path) -> Iterator[Passage]:
    """One passage per authored section of every page (source ``page.md#slug``)."""
    for path in markdown_files(docs_dir):
        src_path = path.relative_to(docs_dir).as_posix()
        text = path.read_bytes().decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
        try:
            meta, body_start = split_front_matter(text, src_path)
        except FrontMatterError:  # reported by the build; its text is no fact to rely on
            continue
        body = text[body_start:]
        title = meta.get("title") if isinstance(meta.get("title"), str) else None
        title = (title or _page_title(body) or src_path).strip()
        for section in authored_sections(body):
            yield Passage(f"{src_path}#{slugify(section.heading)}", f"{title} › {section.heading}", section.text)


def _page_title(body: str) -> str | None:
    return next((heading.title for heading in iter_headings(body) if heading.level == 1), None)


def api_passages(inventory: Inventory) -> Iterator[Passage]:
    """Each public object's signature and documented facts, then each docstring example, under its
    shortest public name (``tidyconf.load`` rather than ``tidyconf.loader.load``)."""
    public = _public_names(inventory)
    for path, obj in inventory.objects.items():
        if obj.target and obj.target in inventory.objects:
            continue  # a re-export: its target's passage carries its name
        name = public.get(path, path)
        yield Passage(f"api:{name}", name, api_text(obj, name))
        for number, example in enumerate(obj.examples, 1):
            yield Passage(f"api:{name}", f"Example {number}: {name}", f"```python\n{example}\n```\n")


def _public_names(inventory: Inventory) -> dict[str, str]:
    shortest: dict[str, str] = {}
    for alias in (o for o in inventory.objects.values() if o.target):
        current = shortest.get(alias.target, alias.target)
        if (len(alias.path), alias.path) < (len(current), current):
            shortest[alias.target] = alias.path
    return shortest


_LEADING_NAME = re.compile(r"^[\w.]+")


def api_text(obj: ApiObject, name: str) -> str:
    """An object's facts as text: qualified signature, summary, parameters, returns, raises."""
    head = name + _LEADING_NAME.sub("", obj.signature, count=1) if obj.signature else name
    lines = [f"`{head}`" if obj.kind != "module" else f"Module `{name}`"]
    if obj.summary:
        lines += ["", obj.summary]
    described = [p for p in obj.parameters if p.description]
    if described:
        lines += ["", "Parameters:"] + [f"- `{p.name}`: {p.description}" for p in described]
    if obj.returns:
        lines += ["", f"Returns: {obj.returns}"]
    if obj.raises:
        lines += ["", "Raises:"] + [f"- `{exc}`: {why}" if why else f"- `{exc}`" for exc, why in obj.raises]
    return "\n".join(lines) + "\n"


def snippet_passages(sources: IndexSources, inventory: Inventory) -> Iterator[Passage]:
    """Usage of the package in its tests and examples: one passage per top-level function, per test
    method, and per run of other top-level statements (source ``file:<path>:<line>``)."""
    for folder in snippet_dirs(sources, _package_dirs(sources)):
        for path in sorted(folder.rglob("*.py")):
            if path.is_file() and path.stat().st_size <= MAX_SNIPPET_FILE:
                yield from _file_snippets(path, sources.root, inventory.package)


def _file_snippets(path: Path, root: Path, package: str) -> Iterator[Passage]:
    source = path.read_bytes().decode("utf-8", errors="replace")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    lines = source.splitlines()
    relative = path.relative_to(root).as_posix() if root in path.parents else path.as_posix()
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and _imports_from(n, package)]
    names = {package} | {name for node in imports for name in _imports_from(node, package)}
    uses = re.compile(r"\b(?:" + "|".join(re.escape(name) for name in sorted(names)) + r")\b")
    imports = [ast.get_source_segment(source, node) or "" for node in imports]
    for node, name in _blocks(tree):
        text = "\n".join(lines[node[0] - 1:node[1]])
        if not uses.search(text):
            continue
        code = "\n".join([*imports, "", text]) if imports and name else text
        code = code[:MAX_SNIPPET_CHARS].rstrip()
        yield Passage(f"file:{relative}:{node[0]}", f"{relative}::{name or 'module'}", f"```python\n{code}\n```\n")


def _imports_from(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """The names an import statement binds from ``package`` (none when it imports something else)."""
    def ours(module: str | None) -> bool:
        return bool(module) and (module == package or module.startswith(package + "."))

    if isinstance(node, ast.ImportFrom):
        return [a.asname or a.name for a in node.names if a.name != "*"] if node.level == 0 and ours(node.module) else []
    return [a.asname or a.name.split(".")[0] for a in node.names if ours(a.name)]


def _blocks(tree: ast.Module) -> Iterator[tuple[tuple[int, int], str]]:
    """Line spans ``(first, last)`` with a name: functions, a class's methods, and runs of statements."""
    run: list[ast.stmt] = []

    def flush() -> Iterator[tuple[tuple[int, int], str]]:
        statements = [n for n in run if not isinstance(n, (ast.Import, ast.ImportFrom))]
        if statements:
            yield (statements[0].lineno, statements[-1].end_lineno or statements[-1].lineno), ""
        run.clear()

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from flush()
            yield _span(node), node.name
        elif isinstance(node, ast.ClassDef):
            yield from flush()
            for method in node.body:
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield _span(method), f"{node.name}.{method.name}"
        else:
            run.append(node)
    yield from flush()


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, node.end_lineno or node.lineno
