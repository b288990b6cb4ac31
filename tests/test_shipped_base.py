"""The base model shipped in the package loads offline (safetensors, no hub) and drafts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mkdocs_aigen.settings import PACKAGED_MODEL

pytestmark = pytest.mark.build

DRAFT = """
import torch
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.ml.decoding import DecodingSettings, GenerationRequest
from mkdocs_aigen.ml.backends.local import TransformersGenerator
from mkdocs_aigen.settings import PACKAGED_MODEL
torch.set_num_threads(1)
prompt = KindLibrary().get("how-to").section_prompt(StubSpec("Configure logging"), "Overview")
generator = TransformersGenerator(PACKAGED_MODEL, DecodingSettings(max_new_tokens=40), batch_size=2)
print(generator.generate([GenerationRequest(prompt, seed=1)])[0].text)
"""


def test_shipped_base_is_self_describing_and_small():
    card = json.loads((PACKAGED_MODEL / "aigen-model.json").read_text())
    shards = list(PACKAGED_MODEL.glob("*.safetensors"))
    assert shards and not list(PACKAGED_MODEL.glob("*.bin"))
    assert all(s.stat().st_size <= 16 * 2**20 for s in shards)
    assert sum(s.stat().st_size for s in shards) <= 40 * 2**20
    assert (PACKAGED_MODEL / "README.md").is_file() and card


def test_shipped_base_drafts_offline():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": "/nonexistent"}
    result = subprocess.run([sys.executable, "-c", DRAFT], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    text = result.stdout.strip()
    assert len(text) >= 30 and "## " not in text  # some 40 tokens of draft, stopped before any heading
