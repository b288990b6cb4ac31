"""The one logger of mkdocs-aigen: MkDocs' plugin logger, so every line reads ``aigen: …`` once and
``mkdocs build --strict`` counts its warnings. (Not for ``ml/``, which never imports mkdocs.)"""

from mkdocs.plugins import get_plugin_logger

log = get_plugin_logger("aigen")
