"""Inputs of the benchmarks: the model, copies of the example site, generated sites, prompts, held-out text."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .common import EXAMPLE_SITE

MODEL_CACHE = Path(tempfile.gettempdir()) / "mkdocs-aigen-bench"
# A stand-in close to the shipped base's size, used until mkdocs_aigen/ml/base exists.
STAND_IN_SHAPE = {"vocab_size": 4096, "hidden": 256, "layers": 4, "heads": 4}
HELD_OUT_EVERY = 3  # every third example_site page (sorted by path) is held out of the stand-in's fit


def resolve_model(requested: Path | None, quick: bool) -> tuple[Path, str]:
    """The model to benchmark and a note saying which it is.

    ``--model`` wins; else the quick size builds the tests' tiny model, and the full size takes the
    shipped base, or (while it does not exist) builds a stand-in of about its size. Built models
    are kept under the temp dir, keyed by their recipe, so later runs reuse them.
    """
    from mkdocs_aigen.settings import PACKAGED_MODEL

    if requested is not None:
        return requested.resolve(), f"--model {requested}"
    if quick:
        return _built_model({}, fit_texts=None), "tiny test model (build_tiny_model defaults)"
    if (PACKAGED_MODEL / "config.json").is_file():
        return PACKAGED_MODEL, "shipped base (mkdocs_aigen/ml/base)"
    shape = ", ".join(f"{k} {v}" for k, v in STAND_IN_SHAPE.items())
    model = _built_model(STAND_IN_SHAPE, fit_texts=fitted_pages())
    return model, (f"STAND-IN: mkdocs_aigen/ml/base is absent, so a build_tiny_model Qwen3 ({shape}) fitted on "
                   f"the sample texts and 2/3 of example_site")


def _built_model(shape: dict[str, Any], fit_texts: list[str] | None) -> Path:
    """A :func:`build_tiny_model` dir for ``shape`` (texts: the samples plus ``fit_texts``), built once."""
    from mkdocs_aigen.ml.model import ARCHITECTURE, ModelShape
    from tests.tiny_model import SAMPLE_TEXTS, TINY_SHAPE, build_tiny_model

    texts = None if fit_texts is None else [*SAMPLE_TEXTS, *fit_texts]
    recipe = json.dumps({"architecture": ARCHITECTURE, "shape": shape, "texts": texts}, sort_keys=True)
    out = MODEL_CACHE / f"model-{hashlib.sha256(recipe.encode()).hexdigest()[:16]}"
    if not (out / "config.json").is_file():
        build_tiny_model(out, texts, shape=ModelShape(**shape) if shape else TINY_SHAPE)
    return out


def site_pages() -> list[Path]:
    """The example site's Markdown pages, sorted by path."""
    return sorted((EXAMPLE_SITE / "docs").rglob("*.md"))


def held_out_pages() -> list[Path]:
    return site_pages()[HELD_OUT_EVERY - 1 :: HELD_OUT_EVERY]


def fitted_pages() -> list[str]:
    """Texts of the example site's pages that are not held out."""
    held = set(held_out_pages())
    return [page.read_text(encoding="utf-8") for page in site_pages() if page not in held]


def held_out_text() -> list[str]:
    return [page.read_text(encoding="utf-8") for page in held_out_pages()]


def copy_example_site(dest: Path, **options: Any) -> Path:
    """Copy example_site (without any ``.aigen/`` or built ``site/``) to ``dest``; return its mkdocs.yml.

    ``options`` are added to the ``aigen`` plugin's block (e.g. ``model=…``, ``enabled=False``).
    """
    shutil.copytree(EXAMPLE_SITE, dest, ignore=shutil.ignore_patterns(".aigen", "site"))
    config = dest / "mkdocs.yml"
    if options:
        set_plugin_options(config, options)
    return config


def set_plugin_options(config: Path, options: dict[str, Any]) -> None:
    """Set ``options`` (JSON scalars are YAML) in the ``- aigen:`` block of ``config``: a key the block
    already has is replaced (YAML keeps the last of two equal keys), a new one goes at its top."""
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.fullmatch(r"[ \t]*- aigen:[ \t]*\n?", line)), None)
    if start is None:
        raise ValueError(f"{config}: no '- aigen:' plugin block to add {sorted(options)} to")
    indent = lines[start][: lines[start].index("-")] + "    "
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(indent)):
        end += 1
    block = [line for line in lines[start + 1 : end]
             if not any(re.match(rf"{re.escape(indent)}{re.escape(key)}:", line) for key in options)]
    added = [f"{indent}{key}: {json.dumps(value)}\n" for key, value in options.items()]
    config.write_text("".join([*lines[: start + 1], *added, *block, *lines[end:]]), encoding="utf-8")


_TOPICS = ("caching", "logging", "retries", "plugins", "schemas", "secrets", "profiles", "exports",
           "migrations", "templates", "timeouts", "hooks", "paths", "locales", "metrics", "layers")


def generated_site(root: Path, stub_sections: int, model_dir: Path, **options: Any) -> Path:
    """A minimal site whose stubs ask for ``stub_sections`` prose sections (4 per page); its mkdocs.yml.

    Stubs are explanations without code, so each section is exactly one generation request.
    """
    docs = root / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\nGenerated benchmark site.\n", encoding="utf-8")
    for page, start in enumerate(range(0, stub_sections, 4)):
        topic = _TOPICS[page % len(_TOPICS)]
        headings = [f"{topic.title()} part {i + 1}" for i in range(start, min(start + 4, stub_sections))]
        front = {"title": f"About {topic} ({page})",
                 "aigen": {"topic": f"How tidyconf handles {topic}, part {page}", "kind": "explanation",
                           "code": "none", "sections": headings,
                           "notes": f"Mention the {topic} option and its default. " * (1 + page % 3)}}
        (docs / f"page-{page:03d}.md").write_text(f"---\n{json.dumps(front, indent=1)}\n---\n", encoding="utf-8")
    plugin = {"model": str(model_dir), **options}
    block = "".join(f"\n      {key}: {json.dumps(value)}" for key, value in plugin.items())
    config = root / "mkdocs.yml"
    config.write_text(f"site_name: bench\nplugins:\n  - aigen:{block}\n", encoding="utf-8")
    return config


def section_prompts(config: Path) -> list[str]:
    """The prose prompts the plugin builds for every missing stub section of the site at ``config``."""
    from mkdocs_aigen.cli.config_file import load_settings
    from mkdocs_aigen.drafting.stubs import discover
    from mkdocs_aigen.project import Project

    project = Project(load_settings(config))
    pages, errors = discover(project.settings.docs_dir, project.kinds)
    if errors:
        raise ValueError(f"{config}: bad stubs: {errors[0]}")
    return [job.kind.section_prompt(job.spec, job.heading) for job in project.jobs(pages)]
