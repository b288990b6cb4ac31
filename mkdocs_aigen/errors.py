"""Exceptions of mkdocs-aigen. Converted to ``PluginError`` / exit codes only at the boundaries."""


class AigenError(Exception):
    """Base class: a one-line, user-facing message naming the file and key at fault."""


class FrontMatterError(AigenError):
    """A stub page's ``aigen:`` front-matter is invalid."""


class SettingsError(AigenError):
    """An ``aigen`` option in mkdocs.yml is invalid."""


class KindError(AigenError):
    """A page-kind template is missing or malformed."""
