"""A tiny, locally built causal LM for the tests and the benchmarks' quick size (never a download).

Built with the pretraining model builder (:mod:`mkdocs_aigen.ml.model`), so it is a Qwen3 like the
shipped base, only small enough to build in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from mkdocs_aigen.ml.checkpoint import save_model_dir
from mkdocs_aigen.ml.model import ARCHITECTURE, ModelShape, build_model, train_tokenizer

TINY_SHAPE = ModelShape(layers=2, hidden=64, heads=4, intermediate=192, vocab_size=512)
MAX_POSITIONS = 1024


SAMPLE_TEXTS = (
    """# Getting started

This page shows how to install the tool and build your first site.

## Installation

Install the package with pip:

```bash
pip install mkdocs-aigen
```

Then check the version:

```bash
mkdocs-aigen --version
```

## Configuration

Add the plugin to `mkdocs.yml`:

```yaml
plugins:
  - search
  - aigen:
      model_dir: .aigen/model
      max_new_tokens: 160
```

Each option has a default, so an empty block is enough to start.

## Usage

Run `mkdocs build` as usual. Pages with an `aigen` block in their front matter are drafted,
and every draft is marked for review.
""",
    """# Reading files

The `read_config` function loads a YAML file and returns a dictionary.

## Example

```python
from pathlib import Path

import yaml


def read_config(path: Path) -> dict:
    \"\"\"Load the YAML file at ``path``.\"\"\"
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


config = read_config(Path("mkdocs.yml"))
print(config["site_name"])
```

### Errors

If the file does not exist, `read_config` raises `FileNotFoundError`. Catch it to show a
friendly message:

```python
try:
    config = read_config(Path("missing.yml"))
except FileNotFoundError as exc:
    print(f"no config: {exc}")
```

## See also

- [Configuration](configuration.md)
- [Getting started](index.md)
""",
    """# Command line

The command line tool has two sub-commands.

## train

`train` fine-tunes the model on the pages of your site:

~~~console
$ mkdocs-aigen train -f mkdocs.yml --max-minutes 3
training on 42 pages
saved .aigen/model
~~~

## draft

`draft` writes drafts for the stub pages without building the site.

| Option | Meaning |
| --- | --- |
| `--seed` | seed for sampling |
| `--force` | redraft pages that already have a draft |

## Tips

- Keep stub pages short: a topic, a kind and a few sections.
- Review every draft before you publish it.
- Run the build twice: the second build reuses the cached drafts.
""",
    """# Writing a plugin

A plugin is a class with event methods.

```python
class Plugin:
    def on_page_markdown(self, markdown, page, config, files):
        return markdown.replace("TODO", "")

    def on_post_build(self, config):
        print("done")
```

## Events

The build calls `on_config` first, then `on_files`, then `on_page_markdown` for each page.

## Testing

Write a test that builds a small site:

```python
def test_build(tmp_path):
    site = tmp_path / "site"
    build(config_file="mkdocs.yml", site_dir=site)
    assert (site / "index.html").exists()
```
""",
)


def _fit(
    model, tokenizer, texts: list[str], steps: int, seq_len: int = 96, batch: int = 8
) -> None:
    """A few AdamW steps on ``texts`` so the model writes Markdown-like text (headings, fences)."""
    import torch

    eos = tokenizer.eos_token_id
    ids = [tok for text in texts for tok in [*tokenizer(text)["input_ids"], eos]]
    stream = torch.tensor(ids)
    windows = stream.unfold(0, min(seq_len, len(ids)), max(1, seq_len // 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for step in range(steps):
        rows = windows[torch.arange(step * batch, (step + 1) * batch) % len(windows)]
        loss = model(input_ids=rows, labels=rows).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def build_tiny_model(
    out_dir: str | os.PathLike,
    texts: Iterable[str] | None = None,
    *,
    shape: ModelShape = TINY_SHAPE,
    seed: int = 0,
    fit_steps: int = 60,
) -> Path:
    """Build a tiny model + BPE tokenizer from ``texts`` and save it to ``out_dir``.

    ``texts`` defaults to :data:`SAMPLE_TEXTS`. Weights are initialised from ``seed`` and then
    fitted for ``fit_steps`` steps on the texts (0: leave them as initialised).
    """
    import torch

    texts = list(SAMPLE_TEXTS if texts is None else texts)
    tokenizer = train_tokenizer(texts, shape.vocab_size, max_length=MAX_POSITIONS)
    with torch.random.fork_rng(devices=[]):
        model = build_model(shape, tokenizer, MAX_POSITIONS, seed, zero_init_outputs=False)
        if fit_steps:
            _fit(model, tokenizer, texts, fit_steps)
    card = {
        "kind": "tiny-test-model",
        "architecture": ARCHITECTURE,
        "seed": seed,
        "shape": asdict(shape),
        "vocab_size": len(tokenizer),
        "fit_steps": fit_steps,
    }
    return save_model_dir(model, tokenizer, out_dir, card)
