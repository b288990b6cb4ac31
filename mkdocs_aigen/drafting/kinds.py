"""Page kinds: Jinja2 templates defining a kind's outline and the prompts for its sections and code."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import jinja2

from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.errors import KindError
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.markdown import heading_key

SUFFIX = ".md.j2"


def packaged_templates_dir() -> Path:
    """The kinds shipped with the package (``templates/`` at the repo root, inside the wheel)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise KindError(f"{here}: packaged templates are missing; reinstall mkdocs-aigen")


@dataclass(frozen=True)
class PageKind:
    """One kind of page, backed by its template module."""

    name: str
    module: object
    digest: str

    @property
    def outline(self) -> tuple[str, ...]:
        return tuple(getattr(self.module, "outline", ()))

    def outline_for(self, spec: StubSpec) -> tuple[str, ...]:
        return spec.sections or self.outline

    def wants_code(self, spec: StubSpec, heading: str) -> bool:
        """Whether ``heading`` gets a drafted code sample: listed in ``code_sections`` or an example."""
        if not spec.wants_code:
            return False
        keys = {heading_key(h) for h in getattr(self.module, "code_sections", ())}
        return heading_key(heading) in keys or "example" in heading_key(heading)

    def section_prompt(self, spec: StubSpec, heading: str, context: Sequence[Passage] = ()) -> str:
        """Prompt for a section's prose; ``context`` reaches templates whose macro takes it."""
        return str(_call(self.module.section_prompt, spec, heading, context=tuple(context)))

    def code_prompt(self, spec: StubSpec, heading: str, prose: str, context: Sequence[Passage] = ()) -> str:
        """Prompt for a section's code sample; it ends inside an opened, labelled fence."""
        return str(_call(self.module.code_prompt, spec, heading, prose, context=tuple(context)))


def _call(macro, *args, context: tuple[Passage, ...]):
    """Call a template macro, passing ``context`` only when it declares it (older user templates don't)."""
    if "context" in getattr(macro, "arguments", ()) or getattr(macro, "catch_kwargs", False):
        return macro(*args, context=context)
    return macro(*args)


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache, best effort: unwritable or full storage only costs a recompile."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


class KindLibrary:
    """Kinds found in the user's ``templates_dir`` first, then in the packaged templates."""

    def __init__(self, user_dir: Path | None = None, bytecode_dir: Path | None = None) -> None:
        """``bytecode_dir`` keeps compiled templates across processes (Jinja's bytecode cache), so a
        warm ``mkdocs build`` does not compile every kind again."""
        self.dirs = [Path(user_dir)] if user_dir else []
        self.dirs.append(packaged_templates_dir())
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.dirs]),
            bytecode_cache=_BytecodeCache(bytecode_dir) if bytecode_dir else None,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._kinds: dict[str, PageKind] = {}

    @cached_property
    def names(self) -> tuple[str, ...]:
        found = {
            path.name[: -len(SUFFIX)]
            for folder in self.dirs if folder.is_dir()
            for path in folder.glob(f"*{SUFFIX}")
            if not path.name.startswith("_")
        }
        return tuple(sorted(found))

    def get(self, name: str) -> PageKind:
        if name not in self._kinds:
            if name not in self.names:
                raise KindError(f"templates: unknown kind '{name}'; known: {', '.join(self.names)}")
            self._kinds[name] = self._load(name)
        return self._kinds[name]

    def _load(self, name: str) -> PageKind:
        filename = name + SUFFIX
        try:
            template = self.env.get_template(filename)
            module = template.module
        except jinja2.TemplateError as error:
            raise KindError(f"{self._path_of(filename)}: {error}; fix the template") from None
        for attr in ("outline", "section_prompt", "code_prompt"):
            if not hasattr(module, attr):
                raise KindError(f"{self._path_of(filename)}: '{attr}' is not defined; see templates/how-to.md.j2")
        return PageKind(name, module, self._digest(filename))

    def _path_of(self, filename: str) -> Path:
        return next((d / filename for d in self.dirs if (d / filename).is_file()), Path(filename))

    def _digest(self, filename: str) -> str:
        """Digest of the kind's template and the shared partials it may import."""
        sha = hashlib.sha256()
        partials = sorted({p.name for d in self.dirs if d.is_dir() for p in d.glob(f"_*{SUFFIX}")})
        for name in [filename, *partials]:
            source, _, _ = self.env.loader.get_source(self.env, name)
            sha.update(name.encode() + b"\0" + source.encode() + b"\0")
        return "sha256:" + sha.hexdigest()
