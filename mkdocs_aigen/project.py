"""A site as mkdocs-aigen sees it: settings, kinds, cache, model; drafts and renders stub pages.

Shared by the MkDocs plugin and the ``mkdocs-aigen`` CLI; does not use the MkDocs plugin API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

from mkdocs_aigen.drafting.cache import DraftCache, cache_key
from mkdocs_aigen.checks.code import check_code, iter_fenced_blocks
from mkdocs_aigen.drafting.engine import Drafter, DraftSettings, ModelHandle, SectionDraft, SectionJob, placeholder_text
from mkdocs_aigen.errors import AigenError, SettingsError
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.markers import find_regions
from mkdocs_aigen.ml.decoding import DecodingSettings
from mkdocs_aigen.authoring.status import PageReview, RegionInfo
from mkdocs_aigen.markdown import first_heading, slugify, split_sections
from mkdocs_aigen.drafting.stubs import StubPage, compose

log = logging.getLogger("mkdocs.plugins.aigen")
PACKAGED_MODEL = Path(__file__).resolve().parent / "ml" / "base"


@dataclass(frozen=True)
class Settings:
    """Resolved options: absolute paths and validated values."""

    config_dir: Path
    docs_dir: Path
    model: Path | None = None
    cache: bool = True
    cache_dir: Path | None = None
    templates_dir: Path | None = None
    generate: str = "auto"
    on_missing: str = "warn"
    publish_unreviewed: bool = True
    fail_on_unreviewed: bool = False
    batch_size: int = 32
    device: str | None = None
    quantize: str | None = None
    corpus_extra: tuple[Path, ...] = ()
    draft: DraftSettings = field(default_factory=DraftSettings)

    @property
    def work_dir(self) -> Path:
        return self.config_dir / ".aigen"

    @classmethod
    def from_options(cls, options: Mapping, config_dir: Path, docs_dir: Path, source: str = "mkdocs.yml") -> Settings:
        """Build from validated ``AigenConfig`` values; range errors name the option."""
        config_dir, docs_dir = Path(config_dir).resolve(), Path(docs_dir).resolve()

        def path(value: str | None) -> Path | None:
            return (config_dir / value).resolve() if value else None

        try:
            decoding = DecodingSettings(max_new_tokens=options["max_new_tokens"], temperature=options["temperature"],
                                        top_p=options["top_p"])
            draft = DraftSettings(decoding=decoding, seed=options["seed"], verify_code=options["verify_code"],
                                  package=options["package"], code_retries=options["code_retries"])
        except ValueError as error:
            raise SettingsError(f"{source}: plugins.aigen: {error}") from None
        if options["batch_size"] < 1:
            raise SettingsError(f"{source}: plugins.aigen.batch_size: must be >= 1")
        cache_dir = path(options["cache_dir"])
        if cache_dir and (cache_dir == docs_dir or docs_dir in cache_dir.parents):
            raise SettingsError(f"{source}: plugins.aigen.cache_dir: must be outside docs_dir "
                                f"(mkdocs serve would rebuild forever); use e.g. .aigen/cache")
        return cls(
            config_dir=config_dir, docs_dir=docs_dir, model=path(options["model"]), cache=options["cache"],
            cache_dir=cache_dir, templates_dir=path(options["templates_dir"]), generate=options["generate"],
            on_missing=options["on_missing"], publish_unreviewed=options["publish_unreviewed"],
            fail_on_unreviewed=options["fail_on_unreviewed"], batch_size=options["batch_size"],
            device=options["device"], quantize=options["quantize"],
            corpus_extra=tuple(path(p) for p in options["corpus_extra"]), draft=draft,
        )

    def model_dir(self) -> Path:
        """The configured model, else the site's fine-tuned ``.aigen/model``, else the shipped base."""
        if self.model:
            return self.model
        trained = self.work_dir / "model"
        return trained if (trained / "config.json").is_file() else PACKAGED_MODEL


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
        self.kinds = KindLibrary(settings.templates_dir)
        self.cache = DraftCache(settings.cache_dir) if settings.cache and settings.cache_dir else None

    @cached_property
    def model(self) -> ModelHandle:
        s = self.settings
        model_dir = s.model_dir()
        if not (model_dir / "config.json").is_file():
            raise AigenError(f"{model_dir}: no model here; set plugins.aigen.model to a local Hugging Face "
                             f"model directory or run 'mkdocs-aigen train'")
        return ModelHandle(model_dir, s.draft.decoding, batch_size=s.batch_size, device=s.device,
                           quantize=s.quantize, digest_memo=s.work_dir / "weights-digest.json")

    @cached_property
    def drafter(self) -> Drafter:
        return Drafter(self.cache, self.settings.draft, self.model)

    def jobs(self, pages: list[StubPage]) -> list[SectionJob]:
        return [SectionJob(p.src_path, p.spec, p.kind, h) for p in pages for h in p.missing()]

    def draft(self, pages: list[StubPage], generate: str) -> dict[SectionJob, SectionDraft]:
        """Drafts for every missing section of ``pages``: from the cache, then (``auto``) the model."""
        jobs = self.jobs(pages)
        if generate == "off" or not jobs:
            return {}
        if generate == "cache-only" and not (self.settings.model_dir() / "config.json").is_file():
            return {}  # no model, so no cache key can match: every section is reported missing
        found, misses = self.drafter.lookup(jobs)
        if misses and generate == "auto":
            found.update(self.drafter.generate(misses))
        return found

    def render(self, page: StubPage, drafts: Mapping[SectionJob, SectionDraft], generate: str) -> RenderedStub:
        """Compose the page with its drafts (placeholders for misses) and collect its review state."""
        mine = {job.heading: d for job, d in drafts.items() if job.page == page.src_path}
        missing = [h for h in page.missing() if h not in mine] if generate != "off" else []
        texts = {h: d.text for h, d in mine.items()} | {h: placeholder_text(h) for h in missing}
        text = compose(page, texts)
        review = PageReview(page.src_path, page.title, page.spec.topic)
        by_slug = {slugify(h): d for h, d in mine.items()}
        placeholders = {slugify(h) for h in missing}
        embedded = page.drafted_keys()
        _, sections = split_sections(page.body)
        review.authored = sum(s.key not in embedded for s in sections)
        review.embedded = len(embedded)
        review.generated = sum(d.origin == "generated" for d in mine.values())
        review.cached = sum(d.origin == "cache" for d in mine.values())
        for region in find_regions(text):
            heading = first_heading(region.inner) or region.section
            if region.section in placeholders:
                info = RegionInfo(region.section, "missing")
            elif region.section in by_slug and not region.edited:
                info = RegionInfo(region.section, "unreviewed", by_slug[region.section].code)
            else:
                info = RegionInfo(region.section, "edited" if region.edited else "unreviewed",
                                  self.check_blocks(region.inner))
            review.regions.append((heading, info))
        return RenderedStub(page, text, review)

    def check_blocks(self, markdown: str) -> list[dict]:
        """Code checks of the fenced blocks in an embedded draft."""
        return [{**self._check(block.language, block.code), "language": block.language, "attempts": 1}
                for block in iter_fenced_blocks(markdown)]

    def _check(self, language: str, code: str) -> dict:
        """One sample's verdict; ``run``/``import`` verdicts are cached, so warm builds run no sandbox."""
        s = self.settings.draft
        persist = self.cache is not None and s.verify_code in ("run", "import")
        key = cache_key({"check": language, "code": code, "mode": s.verify_code, "package": s.package})
        entry = self.cache.get(key) if persist else None
        if entry is None:
            check = check_code(language, code, s.verify_code, s.package)
            entry = {"text": code, "status": check.status, "error": check.error}
            if persist:
                self.cache.put(key, entry)
        return {"status": entry["status"], "error": entry["error"]}
