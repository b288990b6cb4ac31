"""The MkDocs face of mkdocs-aigen; ``mkdocs_aigen.plugin:AigenPlugin`` is the entry point."""

from mkdocs_aigen.plugin.hooks import AigenPlugin

__all__ = ["AigenPlugin"]
