"""B3 int8: drafting time with ``quantize: int8`` vs fp32, and both models' held-out perplexity.

Drafting is the plugin's batched path on example_site's stub sections (forced to equal token
counts, as in B2); perplexity is measured on example_site pages held out of the stand-in's fit.
"""

from __future__ import annotations

import statistics

from .b2_throughput import batched, forced_settings, new_tokens, plugin_default
from .common import EXAMPLE_SITE, Context, Result, Target, alternate, ratios, summary
from .fixtures import held_out_pages, held_out_text, section_prompts

PERPLEXITY_TOLERANCE = 0.03


def perplexity(model, tokenizer, texts: list[str], seq_len: int) -> float:
    """Perplexity of ``model`` over ``texts`` joined by end-of-text, with the training loop's evaluator."""
    import torch

    from mkdocs_aigen.ml.loop import evaluate

    ids = [token for text in texts for token in [*tokenizer(text, verbose=False)["input_ids"], tokenizer.eos_token_id]]
    stream = torch.tensor(ids, dtype=torch.long)
    return evaluate(model, stream, min(seq_len, len(ids) - 1))[1]


def run(ctx: Context) -> Result:
    import torch

    from mkdocs_aigen.ml.backends.local import TransformersGenerator

    ctx.reset_torch_threads()
    prompts = section_prompts(EXAMPLE_SITE / "mkdocs.yml")
    settings = forced_settings(new_tokens(ctx))
    batch_size = plugin_default("batch_size")
    generators = {quantize or "fp32": TransformersGenerator(ctx.model_dir, settings, batch_size=batch_size,
                                                            device="cpu", quantize=quantize)
                  for quantize in (None, "int8")}
    threads = torch.get_num_threads()  # as the plugin's generator left them
    samples = alternate({name: (lambda g=g: batched(g, prompts)) for name, g in generators.items()},
                        runs=ctx.runs, warmup=ctx.warmup)
    seq_len = 64 if ctx.quick else 256
    texts = held_out_text()
    ppl = {name: perplexity(g.model, g.tokenizer, texts, seq_len) for name, g in generators.items()}
    drift = ppl["int8"] / ppl["fp32"] - 1
    rates = {name: summary([s["tokens"] / s["seconds"] for s in runs]) for name, runs in samples.items()}
    cpu = statistics.median(ratios(samples["fp32"], samples["int8"], "cpu_seconds"))
    return Result(
        "B3", "int8 drafting",
        f"fp32 drafting time ÷ int8 drafting time ({len(prompts)} sections × {settings.max_new_tokens} tokens, "
        f"{threads} torch thread(s)); perplexity on {len(texts)} held-out example_site pages",
        samples=ratios(samples["fp32"], samples["int8"]), target=Target(">=", 1.5),
        checks={f"perplexity within {PERPLEXITY_TOLERANCE:.0%}": abs(drift) <= PERPLEXITY_TOLERANCE},
        details={"tokens_per_second": rates, "cpu_time_ratio": cpu, "perplexity": ppl, "perplexity_change": drift,
                 "held_out_pages": [str(p.relative_to(EXAMPLE_SITE)) for p in held_out_pages()],
                 "threads": threads, "runs": samples},
        lines=[f"fp32 {rates['fp32']['median']:.0f} tok/s vs int8 {rates['int8']['median']:.0f} tok/s (medians); "
               f"CPU-time ratio {cpu:.2f}×",
               f"held-out perplexity fp32 {ppl['fp32']:.3f} vs int8 {ppl['int8']:.3f} ({drift:+.2%})"],
    )
