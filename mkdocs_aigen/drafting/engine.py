"""Drafting engine: cache look-ups, batched generation across pages, guards and code re-sampling.

Broken code is never published: a sample still invalid after ``code_retries`` is left out, and the
section says so in an italic note (its verdict stays in ``SectionDraft.code`` with ``published: false``).
With :class:`~mkdocs_aigen.grounding.facts.KnownFacts`, code may name only known package names (the
requests carry them) and every drafted section is fact-checked (dead links made plain).

Independent of MkDocs: the plugin and the ``mkdocs-aigen draft`` command both drive it.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Sequence

from mkdocs_aigen.checks.code import VERIFY_MODES, CodeCheck
from mkdocs_aigen.checks.verdicts import CodeChecker
from mkdocs_aigen.drafting.cache import DraftCache, cache_key
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import PageKind
from mkdocs_aigen.drafting.usage import usage_start, valid_prefix
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.grounding.facts import KnownFacts, check_facts
from mkdocs_aigen.log import log
from mkdocs_aigen.markdown import heading_key, iter_fenced_blocks
from mkdocs_aigen.markers import defuse, strip_comments
from mkdocs_aigen.ml.backends import Backend
from mkdocs_aigen.ml.decoding import DecodingSettings, GenerationRequest, Generator
from mkdocs_aigen.ml.stops import is_degenerate
from mkdocs_aigen.progress import progress_bar

if TYPE_CHECKING:
    from mkdocs_aigen.grounding.inventory import Inventory

_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_REFERENCE_DEFINITION = re.compile(r"^( {0,3})\[(?=[^\]\n]*\]:)", re.M)
INVALID_BYTES = "\ufffd"  # what decoding makes of byte tokens that form no valid UTF-8
GENERATE_MODES = ("auto", "cache-only", "off")
"""``auto``: draft misses with the backend; ``cache-only``: never generate; ``off``: no drafting."""


@dataclass(frozen=True)
class DraftSettings:
    """Everything besides the page that decides a draft (all of it is in the cache key)."""

    decoding: DecodingSettings = field(default_factory=DecodingSettings)
    seed: int = 0
    verify_code: str = "syntax"
    package: str | None = None
    code_retries: int = 4
    guard_retries: int = 2

    def __post_init__(self) -> None:
        if self.code_retries < 0 or self.guard_retries < 0:
            raise ValueError("code_retries: must be >= 0")
        if self.verify_code not in VERIFY_MODES:
            raise ValueError(f"verify_code: use one of {', '.join(VERIFY_MODES)}, not {self.verify_code!r}")


@dataclass(frozen=True)
class SectionJob:
    """One missing section of one stub page, with the passages it may draw on."""

    page: str
    spec: StubSpec
    kind: PageKind
    heading: str
    context: tuple[Passage, ...] = ()


@dataclass
class SectionDraft:
    """A drafted section: its Markdown (heading included), provenance, code checks, fact checks
    (:func:`~mkdocs_aigen.grounding.facts.check_facts`) and the samples left out (language, reason, attempts)."""

    job: SectionJob
    text: str
    origin: str  # "generated" | "cache" | "facts" (rendered from the inventory, never generated)
    code: list[dict] = field(default_factory=list)
    tokens: int = 0
    facts: dict = field(default_factory=dict)
    omitted: list[dict] = field(default_factory=list)


def derive_seed(seed: int, *parts: object) -> int:
    """A per-section seed that does not depend on which other sections are drafted alongside."""
    text = "\0".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


class Drafter:
    """Turns :class:`SectionJob` s into :class:`SectionDraft` s through the cache and a model."""

    def __init__(self, cache: DraftCache | None, settings: DraftSettings, backend: Backend,
                 checker: CodeChecker) -> None:
        self.cache, self.settings, self.backend, self.checker = cache, settings, backend, checker
        self.timings: dict[str, float] = {}
        self.ground()

    def ground(self, inventory: Inventory | None = None,
               known_facts: Callable[[], KnownFacts | None] = lambda: None, names: frozenset[str] | None = None
               ) -> None:
        """Draft with the documented package's ``inventory`` (its fact sections, and its names and
        modules as the ``names`` code may use unless given) and check drafts against ``known_facts()``
        (asked for only when something is generated)."""
        self.inventory = inventory
        if names is None and inventory is not None and inventory.objects:
            names = inventory.names() | inventory.modules
        self.names = names or None
        self._names_key = {"names": cache_key({"names": sorted(self.names)})} if self.names else {}
        self._known_facts = known_facts
        self.__dict__.pop("facts", None)

    @cached_property
    def facts(self) -> KnownFacts | None:
        return self._known_facts()

    @cached_property
    def _generator(self) -> Generator:
        log.info("loading model %s", self.backend.describe())
        return self.backend.generator

    def key(self, job: SectionJob, identity: dict | None = None) -> str:
        """The job's cache key; pass the backend's ``identity`` when keying many jobs at once."""
        s = self.settings
        return cache_key({
            "topic": job.spec.topic, "kind": job.kind.name, "section": job.heading, "notes": job.spec.notes,
            "code": job.spec.code, "template": job.kind.digest, "backend": identity or self.backend.identity(),
            "context": [p.digest for p in job.context], "decoding": asdict(s.decoding), "seed": s.seed,
            "verify_code": s.verify_code, "package": s.package, "code_retries": s.code_retries,
            "guard_retries": s.guard_retries,
        } | self._names_key)

    def lookup(self, jobs: Sequence[SectionJob]) -> tuple[dict[SectionJob, SectionDraft], list[SectionJob]]:
        """Split ``jobs`` into cached drafts and misses."""
        found, misses = {}, []
        identity = self.backend.identity() if self.cache else None
        for job in jobs:
            facts = fact_draft(job, self.inventory)
            entry = self.cache.get(self.key(job, identity)) if self.cache and facts is None else None
            if facts is not None:
                found[job] = facts
            elif entry is None:
                misses.append(job)
            else:
                found[job] = with_preamble(
                    SectionDraft(job, entry["text"], "cache", entry["code"], entry["tokens"],
                                 entry.get("facts", {}), entry.get("omitted", [])),
                    self.inventory)
        return found, misses

    def generate(self, jobs: Sequence[SectionJob]) -> dict[SectionJob, SectionDraft]:
        """Draft ``jobs`` with the backend, batched across pages, and store them in the cache.

        Jobs go in chunks of the backend's ``chunk_size``, each cached once drafted: a generator that
        fails (a server going down) loses at most the chunk it was drafting.
        """
        if not jobs:
            return {}
        started = time.monotonic()
        generator = self._generator
        self.timings["model_load"] = time.monotonic() - started
        identity = self.backend.identity()
        drafts: dict[SectionJob, SectionDraft] = {}
        size = self.backend.chunk_size
        for start in range(0, len(jobs), size):
            for draft in self._draft_chunk(generator, list(jobs[start : start + size])):
                if self.cache:
                    self.cache.put(self.key(draft.job, identity), {
                        "page": draft.job.page, "section": draft.job.heading, "text": draft.text,
                        "code": draft.code, "tokens": draft.tokens, "facts": draft.facts, "omitted": draft.omitted})
                drafts[draft.job] = with_preamble(draft, self.inventory)
        self.timings["generate"] = time.monotonic() - started
        return drafts

    def _draft_chunk(self, generator: Generator, jobs: list[SectionJob]) -> list[SectionDraft]:
        """Prose for every job, then code samples for the jobs that want one, with re-sampling."""
        prose = self._sample(
            generator, jobs, "prose",
            request=lambda job, seed: GenerationRequest(job.kind.section_prompt(job.spec, job.heading, job.context),
                                                        seed, names=self.names),
            clean=lambda job, text: clean_prose(text), accept=lambda job, text: not is_degenerate(text),
            retries=self.settings.guard_retries,
        )
        coded = [job for job in jobs if job.kind.wants_code(job.spec, job.heading)]
        starts = {job: usage_start(job.spec.code, job.context) for job in coded}
        checks: dict[SectionJob, CodeCheck] = {}

        def code_ok(job: SectionJob, code: str) -> bool:
            checks[job] = self.checker.check(job.spec.code, code)
            return checks[job].status != "invalid"

        samples = self._sample(
            generator, coded, "code",
            request=lambda job, seed: GenerationRequest(
                job.kind.code_prompt(job.spec, job.heading, prose[job][0], job.context) + _opening(starts[job]),
                seed, stop_heading_level=None, stop_at_fence=True, names=self.names),
            clean=lambda job, text: valid_prefix(job.spec.code, starts[job],
                                                 clean_code(_opening(starts[job]) + text)),
            accept=code_ok, retries=self.settings.code_retries,
        )
        drafts = []
        for job in jobs:
            text, _, tokens = prose[job]
            code, omitted = [], []
            if job in samples:
                sample, attempts, sample_tokens = samples[job]
                tokens += sample_tokens
                code = [{**asdict(checks[job]), "language": job.spec.code, "attempts": attempts}]
                if code[0]["status"] == "invalid":  # broken code is never published
                    code[0]["published"] = False
                    omitted.append({"language": job.spec.code, "reason": code[0]["error"], "attempts": attempts})
                    text = f"{text}\n\n{omission_note(omitted[0])}"
                else:
                    text = f"{text}\n\n```{job.spec.code}\n{sample}\n```"
            draft = SectionDraft(job, f"## {job.heading}\n\n{text}", "generated", code, tokens, omitted=omitted)
            if self.facts is not None:
                draft.text, draft.facts = check_facts(draft.text, job.page, self.facts)
            drafts.append(draft)
        return drafts

    def _sample(self, generator: Generator, jobs: list[SectionJob], phase: str, *, request, clean, accept,
                retries: int) -> dict[SectionJob, tuple[str, int, int]]:
        """Generate for every job; re-sample rejected ones with derived seeds up to ``retries`` times.

        Returns ``job -> (text, attempts, tokens)``; a text never accepted keeps its last sample.
        """
        results: dict[SectionJob, tuple[str, int, int]] = {}
        pending = jobs
        for attempt in range(retries + 1):
            if not pending:
                break
            label = phase if attempt == 0 else f"{phase} retry {attempt}"
            with progress_bar(label, len(pending)) as progress:
                outputs = generator.generate(
                    [request(job, derive_seed(self.settings.seed, job.spec.topic, job.heading, phase, attempt))
                     for job in pending],
                    progress=progress,
                )
            rejected = []
            for job, output in zip(pending, outputs):
                text = clean(job, output.text)
                spent = results.get(job, ("", 0, 0))[2] + output.new_tokens
                results[job] = (text, attempt + 1, spent)
                if not accept(job, text):
                    rejected.append(job)
            pending = rejected
        return results


def clean_prose(text: str) -> str:
    """Untrusted prose → safe Markdown: no comments, no raw HTML, no attr_list attributes, no
    reference-style link definitions, cut before its first code fence (found after the HTML is
    escaped, so a fence cannot hide in an HTML block that no longer is one), and no U+FFFD (bytes the
    model sampled that form no valid UTF-8)."""
    text = _REFERENCE_DEFINITION.sub(r"\1\\[", _escape_outside_code(strip_comments(text.replace(INVALID_BYTES, ""))))
    fences = iter_fenced_blocks(text, page=False)
    if fences:
        text = text[: fences[0].start]
    return text.strip()


def omission_note(omitted: dict) -> str:
    """The italic note that stands where a sample was left out, for the reviewer."""
    reason = defuse(" ".join(str(omitted["reason"] or "invalid").split())).replace("`", "'")
    return (f"*A {omitted['language']} sample was left out: it was still invalid after "
            f"{omitted['attempts']} attempts (`{reason}`).*")


def _opening(start: str) -> str:
    """The real lines a code sample starts from, as the model continues them (one line each)."""
    return start + "\n" if start else ""


def clean_code(text: str) -> str:
    """Untrusted code sample → fence body that cannot forge a marker, without U+FFFD."""
    return defuse(text.replace(INVALID_BYTES, "")).strip("\n").rstrip()


def _escape_outside_code(text: str) -> str:
    """Outside inline code spans, escape ``<`` (no raw HTML) and ``{`` (no attr_list attributes)."""
    pieces, position = [], 0
    for match in _INLINE_CODE.finditer(text):
        pieces.append(_escape_prose(text[position: match.start()]))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(_escape_prose(text[position:]))
    return "".join(pieces)


def _escape_prose(text: str) -> str:
    return text.replace("<", "&lt;").replace("{", "\\{")


def placeholder_text(heading: str) -> str:
    """Visible stand-in for a section that has no draft yet (``generate: cache-only``)."""
    return f"## {heading}\n\n*No draft yet for this section: run `mkdocs-aigen draft` or build with `generate: auto`.*"


# --- Facts rendered from the inventory (issue 10, item 7) ------------------------------------------


def fact_draft(job: SectionJob, inventory) -> SectionDraft | None:
    """The section stated from the page's API object when its kind renders it from facts
    (the template's ``fact_sections``); ``None`` when it is to be generated."""
    heading = _fact_heading(job, "fact_sections")
    api = page_object(job.page, job.spec, inventory) if heading else None
    if api is None:
        return None
    return SectionDraft(job, f"## {job.heading}\n\n{str(job.kind.module.facts(api, heading)).strip()}", "facts")


def with_preamble(draft: SectionDraft, inventory) -> SectionDraft:
    """``draft`` with the facts its kind puts at the top of that section (``fact_preambles``, e.g. the
    signature atop Summary); the cache keeps the prose alone, so the facts are always current."""
    heading = _fact_heading(draft.job, "fact_preambles")
    api = page_object(draft.job.page, draft.job.spec, inventory) if heading else None
    if api is None:
        return draft
    facts = str(draft.job.kind.module.facts(api, heading)).strip()
    title, _, prose = draft.text.partition("\n\n")
    return replace(draft, text=f"{title}\n\n{facts}\n\n{prose}".rstrip())


def _fact_heading(job: SectionJob, declared: str) -> str | None:
    """The template's spelling of ``job.heading`` in its ``declared`` mapping, if it is there."""
    mapping = getattr(job.kind.module, declared, None) or {}
    return next((h for h in mapping if heading_key(h) == heading_key(job.heading)), None)


def page_object(page: str, spec: StubSpec, inventory):
    """The callable a page documents, named as the page names it: its ``object:``, else the first
    ``package.name`` in its topic that the inventory knows. ``None`` when there is none."""
    if inventory is None:
        return None
    named = [spec.object] if spec.object else re.findall(rf"\b{re.escape(inventory.package)}(?:\.\w+)+", spec.topic)
    for name in named:
        api = inventory.resolve(name)
        if api is not None and api.kind in ("function", "method", "class"):
            return replace(api, path=name)
    if spec.object:
        log.warning("%s: aigen.object: %s is not a function, method or class of %s; drafting without its facts",
                    page, spec.object, inventory.package)
    return None
