"""The resolved settings of one site: built once per build or command from the ``aigen`` options.

:mod:`mkdocs_aigen.config` declares the options (with their defaults); :meth:`Settings.from_options`
turns validated option values into absolute paths and typed sub-settings, checks the options that
depend on each other, and names the option at fault in a one-line :class:`SettingsError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from mkdocs_aigen.drafting.engine import DraftSettings
from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.labels import Labels, parse_overrides
from mkdocs_aigen.log import log
from mkdocs_aigen.ml.backends import BackendSettings
from mkdocs_aigen.ml.backends.openai import ServerSettings
from mkdocs_aigen.ml.checkpoint import is_model_dir
from mkdocs_aigen.ml.decoding import DecodingSettings

PACKAGED_MODEL = Path(__file__).resolve().parent / "ml" / "base"


@dataclass(frozen=True)
class Settings:
    """Resolved options: absolute paths and validated values (defaults live in :mod:`.config`)."""

    config_dir: Path
    docs_dir: Path
    model: Path | None
    cache: bool
    cache_dir: Path | None
    templates_dir: Path | None
    generate: str
    on_missing: str
    publish_unreviewed: bool
    fail_on_unreviewed: bool
    backend: str
    batch_size: int
    device: str | None
    quantize: str | None
    corpus_extra: tuple[Path, ...] = ()
    draft: DraftSettings = field(default_factory=DraftSettings)
    server: ServerSettings | None = None
    labels: Labels = field(default_factory=Labels)
    site_dir: Path | None = None  # MkDocs' output dir; the cache must stay out of it
    paths: tuple[Path, ...] = ()  # where the package's source is searched first
    grounding: bool = True
    source: str = "mkdocs.yml"  # the config file, as messages name it

    @property
    def work_dir(self) -> Path:
        return self.config_dir / ".aigen"

    @property
    def language(self) -> str:
        """The site's language (the theme's), which pages without ``lang``/``locale`` are written in."""
        return self.labels.language

    @classmethod
    def from_options(cls, options: Mapping, config_dir: Path, docs_dir: Path, source: str = "mkdocs.yml",
                     language: str = "en", site_dir: Path | None = None) -> Settings:
        """Build from validated ``AigenConfig`` values (``language``: the theme's, for the labels;
        ``site_dir``: MkDocs' output dir); every error names ``source`` and the option."""
        config_dir, docs_dir = Path(config_dir).resolve(), Path(docs_dir).resolve()

        def path(value: str | None) -> Path | None:
            return (config_dir / value).resolve() if value else None

        try:
            decoding = DecodingSettings(max_new_tokens=options["max_new_tokens"], temperature=options["temperature"],
                                        top_p=options["top_p"])
            draft = DraftSettings(decoding=decoding, seed=options["seed"], verify_code=options["verify_code"],
                                  package=options["package"], code_retries=options["code_retries"])
            settings = cls(
                config_dir=config_dir, docs_dir=docs_dir, model=path(options["model"]), cache=options["cache"],
                cache_dir=path(options["cache_dir"]), templates_dir=path(options["templates_dir"]),
                generate=options["generate"], on_missing=options["on_missing"],
                publish_unreviewed=options["publish_unreviewed"], fail_on_unreviewed=options["fail_on_unreviewed"],
                backend=options["backend"], batch_size=options["batch_size"], device=options["device"],
                quantize=options["quantize"], corpus_extra=tuple(path(p) for p in options["corpus_extra"]),
                draft=draft, server=_server(options),
                labels=Labels(language, parse_overrides(options["labels"], source)),
                site_dir=Path(site_dir).resolve() if site_dir else None,
                paths=tuple(path(p) for p in options["paths"]), grounding=options["grounding"], source=source,
            )
            settings.backend_settings()  # checks batch_size, device and quantize together
        except ValueError as error:
            raise SettingsError(f"{source}: plugins.aigen.{error}") from None
        settings._check_paths(source)
        if settings.server and not settings.server.model_revision and settings.generate == "auto":
            log.warning(f"{source}: plugins.aigen.model_revision is not set: drafts from {settings.server.base_url} "
                        f"are not reproducible, as the server may change the weights behind "
                        f"{settings.server.served_model}; set it to their digest or tag")
        return settings

    @classmethod
    def load(cls, options: Mapping, config_dir: Path, docs_dir: Path, source: str = "mkdocs.yml",
             language: str = "en", site_dir: Path | None = None) -> Settings:
        """Validate raw ``aigen`` options (as written under ``plugins: - aigen:``), then resolve them."""
        from mkdocs_aigen.config import AigenConfig

        config = AigenConfig(config_file_path=source)
        config.load_dict(dict(options))
        errors, _ = config.validate()
        if errors:
            key, error = errors[0]
            raise SettingsError(f"{source}: plugins.aigen.{key}: {error}")
        return cls.from_options(config, config_dir, docs_dir, source, language, site_dir)

    def _check_paths(self, source: str) -> None:
        cache_dir = self.cache_dir
        for name, folder, why in (("docs_dir", self.docs_dir, "mkdocs serve would rebuild forever"),
                                  ("site_dir", self.site_dir, "the cached drafts would be published")):
            if cache_dir and folder and (cache_dir == folder or folder in cache_dir.parents):
                raise SettingsError(f"{source}: plugins.aigen.cache_dir: must be outside {name} ({why}); "
                                    f"use e.g. .aigen/cache")
        if cache_dir and cache_dir.exists() and not cache_dir.is_dir():
            raise SettingsError(f"{source}: plugins.aigen.cache_dir: {cache_dir} is a file, not a directory; "
                                f"use e.g. .aigen/cache")
        if self.templates_dir and not self.templates_dir.is_dir():
            raise SettingsError(f"{source}: plugins.aigen.templates_dir: {self.templates_dir} is not a directory; "
                                f"create it (with <kind>.md.j2 templates) or remove the option")
        if self.model and not is_model_dir(self.model):
            raise SettingsError(f"{source}: plugins.aigen.model: {self.model} holds no model (no config.json or "
                                f"adapter_config.json); point it at a local Hugging Face model or LoRA adapter "
                                f"directory, or remove it to use "
                                f".aigen/model (mkdocs-aigen train) or the shipped base")

    def model_dir(self) -> Path:
        """The configured model, else the site's fine-tuned ``.aigen/model``, else the shipped base."""
        if self.model:
            return self.model
        trained = self.work_dir / "model"
        return trained if is_model_dir(trained) else PACKAGED_MODEL

    def backend_settings(self) -> BackendSettings:
        return BackendSettings(model_dir=self.model_dir(), decoding=self.draft.decoding, batch_size=self.batch_size,
                               device=self.device, quantize=self.quantize,
                               digest_memo=self.work_dir / "weights-digest.json", server=self.server)


def _server(options: Mapping) -> ServerSettings | None:
    """The server options of ``backend: openai`` (validated there), else None."""
    if options["backend"] != "openai":
        return None
    return ServerSettings(**{name: options[name] for name in (
        "base_url", "served_model", "api", "concurrency", "request_timeout", "request_retries", "api_key_env",
        "model_revision", "allow_remote")})
