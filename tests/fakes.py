"""A scripted generator for unit tests of pure drafting logic (never used where a test claims end to end)."""

from __future__ import annotations

from mkdocs_aigen.ml.decoding import DecodingSettings, GenerationResult


class ScriptedGenerator:
    """Answers each request with ``script(request)``; records every request it saw."""

    def __init__(self, script):
        self.script = script
        self.settings = DecodingSettings()
        self.requests = []

    def generate(self, requests, progress=None):
        self.requests.extend(requests)
        return [GenerationResult(self.script(r), 5, "heading") for r in requests]


class FakeBackend:
    """A :class:`mkdocs_aigen.ml.backends.Backend` answering from a script."""

    chunk_size = 32

    def __init__(self, script, digest="sha256:fake"):
        self.generator = ScriptedGenerator(script)
        self.digest = digest

    def identity(self):
        return {"backend": "scripted", "weights": self.digest}

    def describe(self):
        return "scripted answers"
