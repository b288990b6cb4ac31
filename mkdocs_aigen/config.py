"""The ``aigen`` plugin's options (mkdocs.yml), each declared once here with its documentation.

Defaults and allowed values come from the modules that own them (the drafting engine, the code
checks, the backends); :class:`mkdocs_aigen.settings.Settings` resolves the validated values.
"""

from __future__ import annotations

from mkdocs.config import base
from mkdocs.config import config_options as opt

from mkdocs_aigen.checks.code import VERIFY_MODES
from mkdocs_aigen.drafting.engine import GENERATE_MODES, DraftSettings
from mkdocs_aigen.ml.backends import BACKENDS, BATCH_SIZE, DEVICES, QUANTIZE_MODES
from mkdocs_aigen.ml.backends.openai import SERVER_APIS, ServerSettings
from mkdocs_aigen.ml.decoding import DecodingSettings


class _OffChoice(opt.Choice):
    """A choice that reads YAML's bare ``off`` (parsed as ``false``) as ``"off"``."""

    def run_validation(self, value):
        return super().run_validation("off" if value is False else value)


class AigenConfig(base.Config):
    """Options of the ``aigen`` plugin. Paths are relative to the directory of mkdocs.yml."""

    enabled = opt.Type(bool, default=True)
    """Turn the plugin off without removing it (e.g. ``enabled: !ENV [AIGEN, true]``)."""

    backend = opt.Choice(tuple(BACKENDS), default="local")
    """Where drafts come from: ``local`` runs the model in-process with transformers; ``openai`` asks an
    OpenAI-compatible server (vLLM, ``transformers serve``, llama.cpp, Ollama) at ``base_url``."""

    base_url = opt.Optional(opt.Type(str))
    """``backend: openai``: the server's API root, e.g. ``http://127.0.0.1:8000/v1``. Drafting sends the
    pages' text there: an address that is not this machine needs ``allow_remote: true``."""

    allow_remote = opt.Type(bool, default=ServerSettings.allow_remote)
    """``backend: openai``: allow a ``base_url`` that is not a loopback address."""

    served_model = opt.Optional(opt.Type(str))
    """``backend: openai``: the model id the server lists at ``GET /v1/models``; part of the cache key."""

    model_revision = opt.Optional(opt.Type(str))
    """``backend: openai``: the served weights' digest or tag, part of the cache key. Without it a
    warning says drafts are not reproducible (the server's model may change under the same name)."""

    api = opt.Choice(SERVER_APIS, default=ServerSettings.api)
    """``backend: openai``: ``completions`` sends the Markdown prompt as it is; ``chat`` sends it as a
    user message, for chat-only servers."""

    concurrency = opt.Type(int, default=ServerSettings.concurrency)
    """``backend: openai``: requests in flight at once."""

    request_timeout = opt.Type((int, float), default=ServerSettings.request_timeout)
    """``backend: openai``: seconds to wait for one answer before retrying."""

    request_retries = opt.Type(int, default=ServerSettings.request_retries)
    """``backend: openai``: retries of a request after a connection error, a timeout, HTTP 429 or 5xx,
    with exponential backoff and jitter."""

    api_key_env = opt.Optional(opt.Type(str))
    """``backend: openai``: the environment variable holding the server's API key (the key itself never
    goes in mkdocs.yml, logs, the cache or the report)."""

    model = opt.Optional(opt.Type(str))
    """Local Hugging Face causal-LM directory (safetensors). Default: ``.aigen/model`` when it exists
    (written by ``mkdocs-aigen train``), else the base model shipped in the package."""

    cache = opt.Type(bool, default=True)
    """Cache drafts by a digest of everything that decides them."""

    cache_dir = opt.Type(str, default=".aigen/cache")
    """Where cached drafts live; never inside ``docs_dir``."""

    templates_dir = opt.Optional(opt.Type(str))
    """Extra page-kind templates (``<kind>.md.j2``); searched before the packaged ones."""

    generate = _OffChoice(GENERATE_MODES, default=GENERATE_MODES[0])
    """``auto``: draft missing sections with the model. ``cache-only``: never load the model; a
    missing draft is a warning (or an error, see ``on_missing``) and shows a placeholder. ``off``: no
    drafting; drafts already in the sources are still marked."""

    on_missing = opt.Choice(("warn", "error"), default="warn")
    """In ``cache-only`` mode, how a section with no draft is reported."""

    publish_unreviewed = opt.Type(bool, default=True)
    """``false``: ``mkdocs build`` leaves out pages holding unreviewed drafts (nav, search and blog
    index included); ``mkdocs serve`` still shows them."""

    fail_on_unreviewed = opt.Type(bool, default=False)
    """Report any unreviewed draft as a warning, so ``mkdocs build --strict`` fails (CI gate)."""

    max_new_tokens = opt.Type(int, default=DecodingSettings.max_new_tokens)
    """Most tokens drafted per section or code sample."""

    temperature = opt.Type(float, default=DecodingSettings.temperature)
    """Sampling temperature; 0 is greedy."""

    top_p = opt.Type(float, default=DecodingSettings.top_p)
    """Nucleus sampling threshold."""

    seed = opt.Type(int, default=DraftSettings.seed)
    """Base seed; each section derives its own, so the same inputs give the same draft."""

    batch_size = opt.Type(int, default=BATCH_SIZE)
    """Sections generated together (across pages); larger batches use the CPU better (see B2)."""

    device = opt.Optional(opt.Choice(DEVICES))
    """Where the model runs; default CUDA when present, else CPU."""

    quantize = opt.Optional(opt.Choice(QUANTIZE_MODES))
    """``int8``: CPU dynamic quantization of the model's Linear layers (faster drafting); needs ``device: cpu``
    or no ``device``."""

    verify_code = _OffChoice(VERIFY_MODES, default=DraftSettings.verify_code)
    """How drafted code samples are checked; ``run`` and ``import`` use a sandboxed subprocess."""

    package = opt.Optional(opt.Type(str))
    """The documented package: drafts are grounded in its API (read statically with griffe, never
    imported) and ``verify_code: import`` checks the names imported from it."""

    paths = opt.ListOfItems(opt.Type(str), default=[".", "src"])
    """Where the source of ``package`` is (as in mkdocstrings-python); when it is not there, the
    installed package is used."""

    grounding = opt.Type(bool, default=True)
    """Give each drafted section passages from the site's authored pages and the package (API,
    docstring examples, tests and examples) as context; ``false`` drafts ungrounded (for comparison)."""

    code_retries = opt.Type(int, default=DraftSettings.code_retries)
    """Re-samples of a broken code sample (each with a derived seed)."""

    labels = opt.Type(dict, default={})
    """Your own text for any review label, in every language (e.g. ``banner_title: Draft``); the names
    and English texts are in :data:`mkdocs_aigen.labels.MESSAGES`. Labels otherwise follow the theme's
    language (en, de, es, fr, ja, zh; others fall back to English)."""

    corpus_extra = opt.ListOfItems(opt.Type(str), default=[])
    """Extra sources for ``mkdocs-aigen corpus``: source trees (docstrings, code) and Markdown dirs."""
