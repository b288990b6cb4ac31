"""Benchmarks of mkdocs-aigen, each a ratio against the obvious alternative measured side by side.

Run ``python -m benchmarks`` (``make bench``); ``--quick`` for the smoke size, ``--only B2`` to select.

- B1 warm rebuild: build with every draft cached ÷ the same site with the plugin disabled.
- B2 drafting throughput: the plugin's batched generation vs one ``model.generate`` per section.
- B3 int8: fp32 ÷ ``quantize: int8`` drafting time, and both models' held-out perplexity.
- B4 training: ``fine_tune`` tokens/s ÷ a plain transformers ``Trainer`` on the same model and data.
- B5 scale: drafting time and peak RSS at 5, 20 and 80 stub sections.
- B6 cold demo: wall time and peak RSS of ``make demo``'s steps on a fresh copy of the example site.
- B7 grounded drafting: drafting example_site's stubs with ``grounding: true`` ÷ with ``grounding: false``.
"""
