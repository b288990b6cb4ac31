"""The ``aigen`` MkDocs plugin: thin wiring between MkDocs events and :class:`~.project.Project`."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import yaml
from markdown.postprocessors import Postprocessor
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files, InclusionLevel

from mkdocs_aigen.authoring.status import APPROVED, AUTHORED, PLACEHOLDER
from mkdocs_aigen.authoring.store import ReviewStore
from mkdocs_aigen.config import AigenConfig
from mkdocs_aigen.drafting.stubs import load_stub
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.labels import theme_language
from mkdocs_aigen.log import log
from mkdocs_aigen.markers import render_form
from mkdocs_aigen.plugin.render import (
    banner,
    mark_drafts,
    sanitize,
    unmark_page,
    with_banner,
)
from mkdocs_aigen.plugin.review_page import REVIEW_PAGE, queue_markdown, write_report
from mkdocs_aigen.plugin.sources import SiteSources, inventory_locator, toc_heading_id
from mkdocs_aigen.project import Project, RenderedStub
from mkdocs_aigen.safeio import atomic_write_text, remove_stale_temps
from mkdocs_aigen.settings import Settings

CSS_URI = "assets/aigen/aigen.css"
STATUS = "aigen-draft"


class AigenPlugin(BasePlugin[AigenConfig]):
    """Drafts stub pages, marks drafts for review, and keeps the model across ``serve`` rebuilds."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.serve = False
        self.project: Project | None = None
        self.rendered: dict[str, RenderedStub] = {}
        self.sources: SiteSources | None = None

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.serve = command == "serve"

    def on_config(self, config):
        if not self.config.enabled:
            return config
        config_dir = Path(config.config_file_path or ".").resolve().parent
        try:
            settings = Settings.from_options(self.config, config_dir, Path(config.docs_dir),
                                             source=config.config_file_path or "mkdocs.yml",
                                             language=theme_language(config.theme), site_dir=config.site_dir)
        except AigenError as error:
            raise PluginError(str(error)) from None
        if self.project is None or self.project.settings != settings:
            remove_stale_temps(settings.work_dir, settings.cache_dir)  # left by a killed build or command
            self.project = Project(settings)  # kept across serve rebuilds: the model loads once
        config.extra_css.append(CSS_URI)
        config.extra.setdefault("status", {})[STATUS] = settings.labels["status"]
        return config

    @event_priority(100)  # before the blog plugin (-50), so it reads the drafted posts
    def on_files(self, files: Files, *, config) -> Files:
        if not self.config.enabled:
            return files
        try:
            return self._draft_files(files, config)
        except AigenError as error:  # e.g. a damaged model dir, an unwritable .aigen
            raise PluginError(str(error)) from None

    def _draft_files(self, files: Files, config) -> Files:
        started = time.monotonic()
        project, settings = self.project, self.project.settings
        project.new_run()
        pages = []
        for file in files.documentation_pages():
            try:
                page = load_stub(Path(file.abs_src_path), file.src_uri, project.kinds, language=settings.language)
            except AigenError as error:
                log.error(str(error))
                continue
            if page is not None:
                pages.append(page)
        store = ReviewStore(settings.work_dir)
        drafts = project.draft(pages, settings.generate)
        self.rendered = {p.src_path: project.render(p, drafts, settings.generate, store) for p in pages}
        hide = not settings.publish_unreviewed and not self.serve
        for rendered in self.rendered.values():
            self._stage(files.get_file_from_path(rendered.page.src_path), rendered, hide)
        reviews = [r.review for r in self.rendered.values()]
        self._report_gaps(reviews)
        if any(r.marked for r in reviews):
            files.append(File.generated(config, REVIEW_PAGE, content=queue_markdown(reviews, settings.labels),
                                        inclusion=InclusionLevel.DRAFT if hide else InclusionLevel.NOT_IN_NAV))
        else:
            log.info("review queue (%s) not published: nothing awaits review", REVIEW_PAGE)
        files.append(File.generated(config, CSS_URI, abs_src_path=str(Path(__file__).parent.parent / "assets/aigen.css")))
        timings = {**project.drafter.timings, "on_files": time.monotonic() - started} if pages else {}
        totals = write_report(settings.work_dir / "report.json", reviews, timings)["totals"]
        log.info("drafted %d sections, %d from cache, %d stated from the API, %d in sources, %d approved, "
                 "%d authored, on %d stub pages", *(totals.get(k, 0) for k in (
                     "generated", "cached", "stated", "embedded", APPROVED, AUTHORED)), len(reviews))
        return files

    def _stage(self, file: File, rendered: RenderedStub, hide: bool) -> None:
        """Point the page at a drafted copy outside docs_dir (MkDocs and the blog plugin read it)."""
        review = rendered.review
        meta = dict(rendered.page.meta)
        if "title" in meta:  # the theme shows it as HTML (nav, title bar): through the one sanitizer
            meta["title"] = sanitize(str(meta["title"]))
        if review.marked:
            meta.setdefault("status", STATUS)
        if hide and review.awaiting:
            meta["draft"] = True  # the blog plugin leaves draft posts out of builds
            file.inclusion = InclusionLevel.DRAFT
        body = render_form(rendered.text[rendered.page.body_start:])  # no digest reaches the HTML
        staged = self.project.settings.work_dir / "staging" / rendered.page.src_path
        text = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + body
        if not staged.is_file() or staged.read_text(encoding="utf-8") != text:
            atomic_write_text(staged, text)
        file.abs_src_path = str(staged)

    def _report_gaps(self, reviews) -> None:
        settings = self.project.settings
        missing = [f"{r.src_path}#{s.section}" for r in reviews for s in r.sections if s.fill == PLACEHOLDER]
        if missing:
            message = f"no draft for {len(missing)} section(s) in cache-only mode: {', '.join(missing)}"
            (log.error if settings.on_missing == "error" else log.warning)(message)
        waiting = [f"{r.src_path}#{s.section}" for r in reviews for s in r.awaiting]
        if settings.fail_on_unreviewed and waiting:
            log.warning(f"{len(waiting)} unreviewed draft(s): {', '.join(waiting)}; "
                        f"approve them with 'mkdocs-aigen approve'")

    def on_nav(self, nav, *, config, files: Files):
        """The build's final files: what drafts' sources can link to."""
        if self.config.enabled:
            where = inventory_locator(self._inventory, self.project.settings.config_dir)
            self.sources = SiteSources(files, toc_heading_id(config.mdx_configs), where,
                                       self.project.settings.work_dir / "page-outlines.json")
        return nav

    def _inventory(self):
        grounding = self.project.grounding
        return grounding.inventory if grounding else None

    def on_post_page(self, output: str, *, page, config) -> str:
        """Sanitize and unmark draft regions that reached a page unmarked (none should: a safety net)."""
        return unmark_page(output) if self.config.enabled and "aigen:draft" in output else output

    def on_page_content(self, html: str, *, page, config, files) -> str:
        rendered = self.rendered.get(page.file.src_uri) if self.config.enabled else None
        if rendered is None or not rendered.review.marked:
            return html
        labels = self.project.settings.labels.for_language(_page_locale(page))
        excerpt = getattr(page, "excerpt", None)  # a blog post's excerpt, rendered later on the blog's views
        if excerpt is not None:  # shown on other pages: its sources are listed, not linked
            unlinked = partial(self.sources.cite, page=None)
            excerpt.md.postprocessors.register(_MarkDrafts(rendered.review.marked, labels, unlinked), "aigen", 0)
        html = mark_drafts(html, rendered.review.marked, labels, partial(self.sources.cite, page=page.file))
        if rendered.review.awaiting:
            review = files.get_file_from_path(REVIEW_PAGE)
            url = review.url_relative_to(page.file) if review and review.inclusion.is_included() else None
            html = with_banner(html, banner(rendered.review.awaiting, url, labels))
        return html


class _MarkDrafts(Postprocessor):
    """Marks and sanitizes the draft regions of a drafted post's excerpt, as on the post itself."""

    def __init__(self, sections, labels, cite) -> None:
        super().__init__()
        self.sections, self.labels, self.cite = sections, labels, cite

    def run(self, text: str) -> str:
        return mark_drafts(text, self.sections, self.labels, self.cite)


def _page_locale(page) -> str | None:
    """A page's own language where an i18n plugin sets one (``file.locale``, or ``locale`` front-matter)."""
    return getattr(page.file, "locale", None) or page.meta.get("locale")
