"""A site as mkdocs-aigen sees it: settings, kinds, caches, backend; drafts and renders stub pages.

Shared by the MkDocs plugin and the ``mkdocs-aigen`` CLI; does not use the MkDocs plugin API.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Iterable, Mapping

from mkdocs_aigen.authoring.status import (
    PLACEHOLDER,
    Fill,
    PageReview,
    cited,
    page_review,
)
from mkdocs_aigen.authoring.store import ReviewStore
from mkdocs_aigen.checks.verdicts import VERDICT_SHAPE, CodeChecker
from mkdocs_aigen.drafting.cache import DraftCache, cache_key
from mkdocs_aigen.drafting.engine import (
    Drafter,
    SectionDraft,
    SectionJob,
    placeholder_text,
)
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import StubPage, compose
from mkdocs_aigen.grounding.facts import KnownFacts, urls_in
from mkdocs_aigen.grounding.index import markdown_files
from mkdocs_aigen.grounding.inventory import InventoryError
from mkdocs_aigen.grounding.retrieve import Grounding, load_grounding
from mkdocs_aigen.log import log
from mkdocs_aigen.markdown import iter_fenced_blocks, slugify
from mkdocs_aigen.ml.backends import Backend, create_backend
from mkdocs_aigen.settings import Settings


@dataclass
class RenderedStub:
    """A stub's text as it is built (drafts inserted and marked) and its review state."""

    page: StubPage
    text: str
    review: PageReview


class Project:
    """Drafting and rendering for one site."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kinds = KindLibrary(settings.templates_dir, settings.work_dir / "templates-bytecode")
        caching = settings.cache and settings.cache_dir
        self.cache = DraftCache(settings.cache_dir) if caching else None
        self.verdicts = DraftCache(settings.cache_dir / "verdicts", VERDICT_SHAPE) if caching else None
        self.new_run()

    @cached_property
    def backend(self) -> Backend:
        """The backend chosen by ``backend:``; nothing is loaded until it generates."""
        return create_backend(self.settings.backend, self.settings.backend_settings())

    @cached_property
    def drafter(self) -> Drafter:
        return Drafter(self.cache, self.settings.draft, self.backend, self.checker)

    @cached_property
    def grounding(self) -> Grounding | None:
        """Passages for drafts (and the package's inventory); None when ``grounding: false``, when there
        is nothing to ground in, or when the package cannot be read (one warning: drafts go on ungrounded)."""
        s = self.settings
        if not s.grounding:
            return None
        try:
            return load_grounding(s.docs_dir, s.config_dir, s.draft.package, s.paths, s.work_dir / "grounding")
        except InventoryError as error:
            log.warning(f"{s.source}: {error}; drafting goes on ungrounded")
            return None

    def new_run(self) -> None:
        """Start a build or command: code verdicts are not memoised across runs (``serve`` rebuilds),
        and the grounding is checked against its sources again."""
        self.__dict__.pop("grounding", None)
        draft = self.settings.draft
        self.checker = CodeChecker(draft.verify_code, draft.package, self.verdicts, cache_key)
        if "drafter" in self.__dict__:  # already made (its backend stays loaded)
            self.drafter.checker = self.checker

    def jobs(self, pages: list[StubPage]) -> list[SectionJob]:
        """The drafting jobs of the pages' missing sections."""
        return self.section_jobs((p, h) for p in pages for h in p.missing())

    def section_jobs(self, sections: Iterable[tuple[StubPage, str]]) -> list[SectionJob]:
        """The drafting jobs of ``(page, heading)`` sections, with their passages when the site is grounded."""
        grounding = self.grounding
        jobs = []
        for page, heading in sections:
            spec, context = page.spec, ()
            if grounding is not None:
                context = grounding.retriever.passages(page.src_path, spec.topic, heading, spec.notes,
                                                       want_code=page.kind.wants_code(spec, heading))
            jobs.append(SectionJob(page.src_path, spec, page.kind, heading, context))
        if grounding is not None:
            grounding.save()
        if jobs:
            self.drafter.ground(grounding.inventory if grounding else None, self.known_facts)
        return jobs

    def known_facts(self) -> KnownFacts | None:
        """What drafts may refer to (checked after drafting): the package's names, the site's files and
        the URLs written in its pages and the package's passages. None when ungrounded."""
        grounding = self.grounding
        if grounding is None:
            return None
        docs_dir = self.settings.docs_dir
        inventory = grounding.inventory
        urls: set[str] = set()
        for passage in grounding.retriever.index.passages:
            urls |= urls_in(passage.text)
        for path in markdown_files(docs_dir):
            urls |= urls_in(path.read_text(encoding="utf-8", errors="replace"))
        pages = frozenset(p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*") if p.is_file())
        if inventory is None:
            return KnownFacts(None, frozenset(), frozenset(), pages, frozenset(urls))
        return KnownFacts(inventory.package, inventory.names(), inventory.modules, pages, frozenset(urls))

    def draft(self, pages: list[StubPage], generate: str) -> dict[SectionJob, SectionDraft]:
        """Drafts for every missing section of ``pages``: from the cache, then (``auto``) the model."""
        jobs = self.jobs(pages) if generate != "off" else []
        if not jobs:
            return {}
        found, misses = self.drafter.lookup(jobs)
        if misses and generate == "auto":
            found.update(self.drafter.generate(misses))
        return found

    def render(self, page: StubPage, drafts: Mapping[SectionJob, SectionDraft], generate: str,
               store: ReviewStore) -> RenderedStub:
        """Compose the page with its drafts (placeholders for misses) and collect its review state."""
        mine = {job.heading: d for job, d in drafts.items() if job.page == page.src_path}
        missing = [h for h in page.missing() if h not in mine] if generate != "off" else []
        text = compose(page, {h: d.text for h, d in mine.items()} | {h: placeholder_text(h) for h in missing})
        fills = {slugify(h): Fill(d.origin, d.code, cited(d.job.context), d.facts) for h, d in mine.items()} | {
            slugify(h): Fill(PLACEHOLDER) for h in missing}
        return RenderedStub(page, text, page_review(self, store, page, fills))

    def check_blocks(self, markdown: str) -> list[dict]:
        """Code checks of the fenced blocks in an embedded draft (sandboxed verdicts from the cache)."""
        return [{**asdict(self.checker.check(block.language, block.code)), "language": block.language,
                 "attempts": 1}
                for block in iter_fenced_blocks(markdown)]
