"""The documented package's API, read statically with griffe (the analyser mkdocstrings uses).

The inventory lists the package's public modules, classes, functions, methods and attributes with
their signatures and parsed docstring sections, and its re-exports (``tidyconf.load`` for
``tidyconf.loader.load``). Nothing of the package is imported. A module that does not parse is left
out; a package that cannot be found or whose top module does not parse is an :class:`InventoryError`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.log import log

KINDS = ("module", "class", "function", "method", "attribute")
_SELF_NAMES = ("self", "cls")
_MAX_ALIAS_HOPS = 20


class InventoryError(AigenError):
    """The documented package cannot be found or read."""


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: str  # "" when none
    default: str | None  # the default's source text; None when the parameter has none
    kind: str  # positional_only | positional_or_keyword | var_positional | keyword_only | var_keyword
    description: str  # from the docstring; "" when undocumented


@dataclass(frozen=True)
class ApiObject:
    path: str  # dotted: "tidyconf.loader.load"
    kind: str  # module | class | function | method | attribute
    signature: str  # "load(path: str, *, env: bool = True) -> Config"; "" for modules
    parameters: tuple[Parameter, ...]
    returns: str  # the docstring's returns description, else the return annotation
    raises: tuple[tuple[str, str], ...]  # (exception, description)
    examples: tuple[str, ...]  # docstring examples as code
    summary: str  # the docstring's first paragraph
    docstring: str
    filepath: str  # relative to the site's root when under it, else absolute (posix)
    lineno: int
    target: str | None = None  # set on a re-export: the path it points to


@dataclass(frozen=True)
class Inventory:
    package: str
    objects: dict[str, ApiObject]
    modules: frozenset[str]
    skipped: tuple[str, ...] = field(default=(), compare=False)  # why modules were left out

    def resolve(self, dotted: str) -> ApiObject | None:
        """The object ``dotted`` names, following re-exports (also through a re-exported class or module)."""
        for _ in range(_MAX_ALIAS_HOPS):
            obj = self.objects.get(dotted)
            if obj is not None:
                if obj.target is None or obj.target == dotted:
                    return obj
                if obj.target not in self.objects and not self._through_alias(obj.target):
                    return obj  # points into a private module: the re-export carries the facts
                dotted = obj.target
                continue
            through = self._through_alias(dotted)
            if through is None:
                return None
            dotted = through
        return None

    def _through_alias(self, dotted: str) -> str | None:
        """``dotted`` with its longest re-exported prefix replaced by that re-export's target."""
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = self.objects.get(".".join(parts[:cut]))
            if prefix is not None and prefix.target:
                return ".".join([prefix.target, *parts[cut:]])
        return None

    def names(self) -> frozenset[str]:
        """Every public dotted name: objects, re-exports, and members reached through re-exports."""
        names = set(self.objects)
        for alias in (o for o in self.objects.values() if o.target):
            prefix = alias.target + "."
            names.update(alias.path + name[len(alias.target):] for name in self.objects if name.startswith(prefix))
        return frozenset(names)

    def to_dict(self) -> dict:
        return {"package": self.package, "modules": sorted(self.modules), "skipped": list(self.skipped),
                "objects": {path: asdict(obj) for path, obj in self.objects.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> Inventory:
        objects = {}
        for path, raw in data["objects"].items():
            objects[path] = ApiObject(**{
                **raw, "parameters": tuple(Parameter(**p) for p in raw["parameters"]),
                "raises": tuple(tuple(pair) for pair in raw["raises"]), "examples": tuple(raw["examples"])})
        return cls(data["package"], objects, frozenset(data["modules"]), tuple(data.get("skipped", ())))


def load_inventory(package: str, search_paths: list[Path] | tuple[Path, ...], root: Path | None = None
                   ) -> Inventory:
    """The inventory of ``package``, searched in ``search_paths`` and then on ``sys.path``.

    ``root`` (the site's directory) makes file paths relative. Raises :class:`InventoryError`.
    """
    import griffe

    paths = [str(p) for p in search_paths if Path(p).is_dir()]
    loader = griffe.GriffeLoader(search_paths=[*paths, *(p for p in sys.path if p not in paths)],
                                 docstring_parser="auto", allow_inspection=False)
    with _griffe_messages() as messages:
        try:
            top = loader.load(package)
        except ImportError:
            raise InventoryError(
                f"plugins.aigen.package: {package!r} is found neither under plugins.aigen.paths "
                f"({', '.join(paths) or 'none exist'}) nor installed") from None
        except (griffe.GriffeError, OSError, ValueError) as error:
            raise InventoryError(f"plugins.aigen.package: {package!r} cannot be read: {error}") from None
        loader.resolve_aliases(implicit=False, external=None)
        reader = _Reader(package, Path(root).resolve() if root else None)
        reader.walk(top)
    skipped = tuple(messages)
    if skipped:
        log.info(f"{package}: left out of the inventory: " + "; ".join(skipped))
    return Inventory(package, reader.objects, frozenset(reader.modules), skipped)


@contextmanager
def _griffe_messages() -> Iterator[list[str]]:
    """Silence griffe's log while it reads; collect its syntax errors as ``file: error`` lines."""
    griffe_log = logging.getLogger("griffe")
    messages: list[str] = []

    loading = [""]

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage().splitlines()[0]
            if message.startswith("Loading path "):
                loading[0] = message[len("Loading path "):]
            elif message.startswith("Syntax error"):
                messages.append(f"{loading[0]}: {message}")

    handler, saved = Collect(logging.DEBUG), (griffe_log.level, griffe_log.propagate)
    griffe_log.addHandler(handler)
    griffe_log.setLevel(logging.DEBUG)
    griffe_log.propagate = False
    try:
        yield messages
    finally:
        griffe_log.removeHandler(handler)
        griffe_log.setLevel(saved[0])
        griffe_log.propagate = saved[1]


class _Reader:
    """Turns griffe's object tree into :class:`ApiObject` records."""

    def __init__(self, package: str, root: Path | None) -> None:
        self.package, self.root = package, root
        self.objects: dict[str, ApiObject] = {}
        self.modules: set[str] = set()

    def walk(self, obj) -> None:
        self.objects[obj.path] = self.record(obj, obj.path)
        if obj.is_module:
            self.modules.add(obj.path)
        exports = _exports(obj)
        for name, member in obj.members.items():
            if name.startswith("_") and not (obj.is_class and name == "__init__"):
                continue
            if member.is_alias:
                self.alias(obj, name, member, exports)
            elif member.is_class or member.is_module:
                self.walk(member)
            elif name != "__init__" and (member.is_function or member.is_attribute):
                self.objects[member.path] = self.record(member, member.path)

    def alias(self, parent, name: str, alias, exports: set[str] | None) -> None:
        """A re-export inside the package: its facts are those of its final target."""
        from griffe import AliasResolutionError, CyclicAliasError

        target_path = alias.target_path
        if not target_path.startswith(self.package + ".") or (exports is not None and name not in exports):
            return
        try:
            target = alias.final_target
        except (AliasResolutionError, CyclicAliasError):  # an import griffe cannot follow
            return
        if target.path.split(".")[0] != self.package:
            return
        path = f"{parent.path}.{name}"
        self.objects[path] = replace(self.record(target, path), target=target_path)

    def record(self, obj, path: str) -> ApiObject:
        kind = _kind(obj)
        docstring = obj.docstring.value if obj.docstring else ""
        sections = _sections(obj)
        parameters = _parameters(obj, kind, sections)
        described = _described(sections, "parameters")
        parameters = tuple(Parameter(p.name, p.annotation, p.default, p.kind, described.get(p.name, ""))
                           for p in parameters)
        returns = " ".join(d for _, d in _described_pairs(sections, "returns") if d)
        return_annotation = _text(getattr(obj, "returns", None)) if kind in ("function", "method") else ""
        return ApiObject(
            path=path, kind=kind, signature=_signature(obj, kind, parameters, return_annotation),
            parameters=parameters, returns=returns or return_annotation,
            raises=tuple(_described_pairs(sections, "raises")), examples=tuple(_examples(sections)),
            summary=_summary(sections), docstring=docstring, filepath=self.relative(obj), lineno=obj.lineno or 1)

    def relative(self, obj) -> str:
        if not isinstance(obj.filepath, Path):  # a namespace package has a list of folders
            return ""
        filepath = obj.filepath.resolve()
        if self.root and self.root in filepath.parents:
            return filepath.relative_to(self.root).as_posix()
        return filepath.as_posix()


def _kind(obj) -> str:
    if obj.is_module:
        return "module"
    if obj.is_class:
        return "class"
    if obj.is_function:
        return "method" if obj.parent is not None and obj.parent.is_class else "function"
    return "attribute"


def _exports(obj) -> set[str] | None:
    """A module's ``__all__`` names, or None when it has none."""
    exports = getattr(obj, "exports", None) if obj.is_module else None
    return {e if isinstance(e, str) else getattr(e, "name", str(e)) for e in exports} if exports else None


def _text(value) -> str:
    """An annotation or expression as source text ("" for none)."""
    return "" if value is None else str(value)


def _sections(obj) -> list:
    """The parsed docstring sections; for a class, its ``__init__``'s sections follow its own."""
    found = list(obj.docstring.parsed) if obj.docstring else []
    init = obj.members.get("__init__") if obj.is_class else None
    if init is not None and not init.is_alias and init.docstring:
        found += list(init.docstring.parsed)
    return found


def _described_pairs(sections: list, kind: str) -> list[tuple[str, str]]:
    """``(name or type, description)`` of the items in the docstring's ``kind`` sections."""
    pairs = []
    for section in sections:
        if section.kind.value == kind:
            for item in section.value:
                name = getattr(item, "name", "") or _text(getattr(item, "annotation", None))
                pairs.append((name, (item.description or "").strip()))
    return pairs


def _described(sections: list, kind: str) -> dict[str, str]:
    return {name: description for name, description in _described_pairs(sections, kind) if name}


def _summary(sections: list) -> str:
    for section in sections:
        if section.kind.value == "text":
            return section.value.strip().split("\n\n")[0].strip()
    return ""


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _examples(sections: list) -> list[str]:
    """Code of the docstring's examples: doctest sessions (outputs as comments) and fenced blocks."""
    found = []
    for section in sections:
        if section.kind.value != "examples":
            continue
        for part_kind, text in section.value:
            if part_kind.value == "examples":
                found.append(_doctest_code(text))
            else:
                found += [block.strip() for block in _FENCE.findall(text) if block.strip()]
    return [code for code in found if code]


def _doctest_code(session: str) -> str:
    lines = []
    for line in session.splitlines():
        if line.startswith((">>> ", "... ")) or line in (">>>", "..."):
            lines.append(line[4:])
        elif line.strip():
            lines.append(f"# {line.strip()}")
    return "\n".join(lines).strip()


def _parameters(obj, kind: str, sections: list) -> tuple[Parameter, ...]:
    """A callable's parameters (a class's from its ``__init__``), without a method's ``self``/``cls``."""
    callable_ = obj
    if kind == "class":
        callable_ = obj.members.get("__init__")
        if callable_ is None or callable_.is_alias:
            return ()
    elif kind not in ("function", "method"):
        return ()
    found = [Parameter(p.name, _text(p.annotation), _default(p), p.kind.name, "") for p in callable_.parameters]
    bound = kind == "class" or (kind == "method" and "staticmethod" not in obj.labels)
    if bound and found and found[0].name in _SELF_NAMES:
        found = found[1:]
    return tuple(found)


def _default(parameter) -> str | None:
    """A parameter's default as source text; None when it has none (griffe gives ``*args`` one)."""
    if parameter.default is None or parameter.kind.name in ("var_positional", "var_keyword"):
        return None
    return str(parameter.default)


def _signature(obj, kind: str, parameters: tuple[Parameter, ...], return_annotation: str) -> str:
    """``name(params) -> returns`` for callables (``Class.method`` for methods); ``name: type = value`` for
    attributes; "" for modules."""
    if kind == "module":
        return ""
    if kind == "attribute":
        annotation = _text(getattr(obj, "annotation", None))
        value = "" if obj.labels & {"property", "instance-attribute"} else _text(getattr(obj, "value", None))
        return obj.name + (f": {annotation}" if annotation else "") + (f" = {value}" if value else "")
    name = f"{obj.parent.name}.{obj.name}" if kind == "method" else obj.name
    return f"{name}({_format_parameters(parameters)})" + (f" -> {return_annotation}" if return_annotation else "")


def _format_parameters(parameters: tuple[Parameter, ...]) -> str:
    parts: list[str] = []
    kinds = [p.kind for p in parameters]
    for index, p in enumerate(parameters):
        if p.kind == "keyword_only" and "var_positional" not in kinds and "*" not in parts:
            parts.append("*")
        star = {"var_positional": "*", "var_keyword": "**"}.get(p.kind, "")
        text = star + p.name + (f": {p.annotation}" if p.annotation else "")
        if p.default is not None:
            text += f" = {p.default}" if p.annotation else f"={p.default}"
        parts.append(text)
        if p.kind == "positional_only" and (index + 1 == len(parameters) or parameters[index + 1].kind != p.kind):
            parts.append("/")
    return ", ".join(parts)
