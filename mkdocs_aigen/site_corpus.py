"""The fine-tuning examples of a site: authored pages, approved drafts, and ``corpus_extra`` sources.

Every example has the shape the plugin prompts with: ``kind.section_prompt(spec, heading, context)``
as the prompt and the section's body as the completion. With a :class:`ContextProvider` (the
grounding retriever) each page section's context is the passages it retrieves for that section,
which never include the page's own text (no leakage), plus a distractor passage retrieved for
another page, so the model learns to use what is relevant and to ignore the rest. Authored pages
without an ``aigen:`` block get a spec guessed from their path, title and first code block; every
page's language is its ``lang``/``locale`` front-matter, else the theme's. Text inside draft markers
never enters: stubs contribute only their authored sections.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

from mkdocs_aigen.authoring.store import iter_feedback
from mkdocs_aigen.drafting.frontmatter import NO_CODE, StubSpec, split_front_matter
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import discover, load_stub, page_language
from mkdocs_aigen.errors import AigenError, FrontMatterError
from mkdocs_aigen.grounding import ContextProvider, Passage
from mkdocs_aigen.grounding.sections import (
    AuthoredSection,
    authored_sections,
    clean_section,
)
from mkdocs_aigen.log import log
from mkdocs_aigen.markdown import MARKDOWN_SUFFIXES, iter_fenced_blocks, iter_headings
from mkdocs_aigen.ml.corpus import (
    VALIDATION_FRACTION,
    Example,
    build_corpus,
    code_without_docstring,
    module_name,
    python_docs,
    read_stats,
    stable_hash,
    walk_files,
)
from mkdocs_aigen.ml.prompt import guess_kind
from mkdocs_aigen.settings import PACKAGED_MODEL, Settings

MAX_SOURCE_LINES = 60  # longer functions keep their docstring but not their code
DISTRACTOR_POOL = 64  # passages given to other pages, kept for distractors


@dataclass
class Grounding:
    """Context for page sections: what ``provider`` retrieves, plus one distractor retrieved earlier
    for another page, at a position picked by a hash of the section."""

    provider: ContextProvider
    seen: list[Passage] = field(default_factory=list)

    def context(self, src_path: str, spec: StubSpec, heading: str) -> tuple[Passage, ...]:
        retrieved = list(self.provider.passages(src_path, spec.topic, heading, spec.notes))
        key = stable_hash(f"{src_path}#{heading}")
        others = [p for p in self.seen if _page_of(p) != src_path and p not in retrieved]
        context = list(retrieved)
        if retrieved and others:
            context.insert(key % (len(context) + 1), others[key % len(others)])
        self.seen += [p for p in retrieved if p not in self.seen]
        del self.seen[:-DISTRACTOR_POOL]
        return tuple(context)


def _page_of(passage: Passage) -> str:
    """The site page a passage comes from (``guides/a.md#steps`` → ``guides/a.md``); other sources
    (``api:``, ``file:``) name no page."""
    return "" if passage.source.startswith(("api:", "file:")) else passage.source.split("#", 1)[0]


def corpus_dir(settings: Settings) -> Path:
    return settings.work_dir / "corpus"


def base_model_dir(settings: Settings) -> Path:
    """The model fine-tuning starts from: ``plugins.aigen.model`` if set, else the shipped base.

    Never the site's own ``.aigen/model``: training on top of the last result would compound.
    """
    return settings.model or PACKAGED_MODEL


def build_site_corpus(settings: Settings, tokenizer_dir: Path | None = None,
                      validation_fraction: float | None = None, context: ContextProvider | None = None) -> dict:
    """Write the site's corpus under ``.aigen/corpus/`` and return its stats; ``context`` grounds
    the page sections (see the module docstring).

    ``validation_fraction`` defaults to that of the corpus already there (else the default), so
    ``train`` rebuilding a corpus made by ``corpus --validation-fraction`` keeps its split.
    """
    out = corpus_dir(settings)
    if validation_fraction is None:
        validation_fraction = read_stats(out).get("validation_fraction", VALIDATION_FRACTION)
    kinds = KindLibrary(settings.templates_dir)
    language = settings.language
    stubs, _ = discover(settings.docs_dir, kinds, language=language)
    specs = {page.src_path: page.spec for page in stubs}
    grounding = Grounding(context) if context is not None else None
    examples = [*site_examples(settings.docs_dir, kinds, language, grounding),
                *feedback_examples(settings.work_dir, kinds, specs),
                *extra_examples(settings.corpus_extra, settings.config_dir, kinds)]
    return build_corpus(examples, out, validation_fraction=validation_fraction, tokenizer_dir=tokenizer_dir)


def site_examples(docs_dir: Path, kinds: KindLibrary, language: str = "en",
                  grounding: Grounding | None = None) -> Iterator[Example]:
    """Examples from every Markdown page under ``docs_dir`` (stubs: authored sections only), in the
    site's ``language`` unless a page names its own, grounded when ``grounding`` is given."""
    for path in sorted(Path(docs_dir).rglob("*")):
        if path.suffix in MARKDOWN_SUFFIXES and path.is_file():
            src = path.relative_to(docs_dir).as_posix()
            yield from page_examples(path.read_bytes().decode("utf-8-sig"), src, f"page:{src}", kinds,
                                     language=language, grounding=grounding)


def page_sections(text: str, src_path: str, kinds: KindLibrary, language: str = "en"
                  ) -> tuple[StubSpec, bool, list[AuthoredSection]] | None:
    """A page's spec (a stub's own, else the one it would have had), whether it is a stub, and its
    authored sections; None (with a warning) when its front-matter is bad."""
    text = text.replace("\r\n", "\n")
    try:
        stub = load_stub(Path(src_path), src_path, kinds, text=text, language=language)
    except FrontMatterError as error:
        log.warning("corpus: skipping %s", error)
        return None
    if stub is not None:
        return stub.spec, True, authored_sections(stub.body)
    meta, body_start = split_front_matter(text)
    body = text[body_start:]
    spec = replace(guess_spec(meta, body, src_path), language=page_language(meta, language))
    return spec, False, authored_sections(body)


def page_examples(text: str, src_path: str, doc: str, kinds: KindLibrary, source: str = "page", *,
                  language: str = "en", grounding: Grounding | None = None) -> list[Example]:
    """One example per authored section of a Markdown page; stubs' sections are labelled ``stub``."""
    read = page_sections(text, src_path, kinds, language)
    if read is None:
        return []
    spec, is_stub, sections = read
    kind = kinds.get(spec.kind)
    return [Example(doc, "stub" if is_stub else source,
                    kind.section_prompt(spec, section.heading,
                                        grounding.context(src_path, spec, section.heading) if grounding else ()),
                    section.text)
            for section in sections]


def guess_spec(meta: dict, body: str, src_path: str) -> StubSpec:
    """The spec an authored page would have had as a stub: its title, a kind from its path, its code."""
    languages = [block.language for block in iter_fenced_blocks(body) if block.language]
    return StubSpec(topic=page_title(meta, body, src_path), kind=guess_kind(src_path),
                    code=languages[0].lower() if languages else NO_CODE)


def page_title(meta: dict, body: str, src_path: str) -> str:
    """Front-matter ``title``, else the first ``#`` heading, else the file name."""
    if isinstance(meta.get("title"), str) and meta["title"].strip():
        return meta["title"].strip()
    first = next((h.title for h in iter_headings(body) if h.level == 1 and h.title), None)
    return first or Path(src_path).stem.replace("-", " ").replace("_", " ").capitalize()


def feedback_examples(work_dir: Path, kinds: KindLibrary, specs: dict[str, StubSpec]) -> Iterator[Example]:
    """Approved drafts recorded by ``mkdocs-aigen approve``: the approved text for the draft's prompt.

    The prompt uses the page's current ``aigen:`` spec (``specs`` by page) when it still has the
    recorded topic and kind, else the recorded topic and kind alone. Feedback counts as part of its
    page's document, so page and feedback share one split.
    """
    for record in iter_feedback(work_dir):
        kind_name, topic, heading = (str(record.get(key) or "") for key in ("kind", "topic", "heading"))
        if kind_name not in kinds.names or not topic or not heading:
            continue
        spec = specs.get(record.get("page"))
        if spec is None or (spec.topic, spec.kind) != (topic, kind_name):
            spec = StubSpec(topic=topic, kind=kind_name)
        completion = clean_section(_without_heading(str(record["approved"]), heading))
        if completion:
            yield Example(f"page:{record['page']}", "feedback", kinds.get(kind_name).section_prompt(spec, heading),
                          completion)


def extra_examples(paths: Iterable[Path], config_dir: Path, kinds: KindLibrary) -> Iterator[Example]:
    """Examples from ``corpus_extra``: Python files (docstrings, code) and Markdown files."""
    for root in paths:
        root = Path(root)
        if not root.exists():
            raise AigenError(f"{config_dir / 'mkdocs.yml'}: plugins.aigen.corpus_extra: {root} does not exist; "
                             f"fix or remove the entry")
        files = [root] if root.is_file() else list(walk_files(root))
        for path in files:
            rel = path.relative_to(root).as_posix() if root.is_dir() else path.name
            doc = f"extra:{Path(os.path.relpath(path, config_dir)).as_posix()}"
            if path.suffix in MARKDOWN_SUFFIXES:
                yield from page_examples(_read(path), rel, doc, kinds, source="markdown")
            elif path.suffix == ".py":
                yield from python_examples(_read(path), module_name(rel), doc, kinds)


def python_examples(source: str, module: str, doc: str, kinds: KindLibrary) -> list[Example]:
    """A module docstring becomes an explanation ``Overview``; a public class's or function's
    docstring a reference ``Summary``, followed by the function's code (docstring removed)."""
    docs = python_docs(source)
    if docs is None:
        return []
    module_doc, definitions = docs
    examples = []
    if module_doc:
        spec = StubSpec(topic=f"The {module} module", kind="explanation", code="python")
        examples.append(Example(doc, "docstring", kinds.get("explanation").section_prompt(spec, "Overview"),
                                module_doc + "\n"))
    reference = kinds.get("reference")
    for definition in definitions:
        if not definition.docstring or definition.node.name == "__init__":
            continue
        qualname = f"{module}.{definition.qualname}"
        topic = f"The {qualname} class" if definition.is_class else f"The {qualname}() function"
        completion = definition.docstring + "\n"
        code = None if definition.is_class else code_without_docstring(source, definition, MAX_SOURCE_LINES)
        if code:
            completion += f"\n```python\n{code}\n```\n"
        examples.append(Example(doc, "code" if code else "docstring",
                                reference.section_prompt(StubSpec(topic=topic, kind="reference", code="python"),
                                                         "Summary"), completion))
    return examples


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig", errors="replace")


def _without_heading(text: str, heading: str) -> str:
    """An approved draft's text without its leading ``## heading`` line."""
    first, _, rest = text.lstrip().partition("\n")
    titles = [h.title for h in iter_headings(first + "\n")]
    return rest if titles and titles[0].strip() == heading.strip() else text
