"""B2 drafting throughput: the plugin's batched generation vs one ``model.generate`` call per section.

Both draft every stub section of example_site from the prompts the plugin builds, with the same
model, threads and sampling settings, and exactly ``max_new_tokens`` new tokens per section
(``min_new_tokens = max_new_tokens``; the plugin's heading stop is switched off), so their
tokens/s compare like for like.
"""

from __future__ import annotations

import statistics
from typing import Any

from .common import (
    EXAMPLE_SITE,
    Context,
    Result,
    Target,
    alternate,
    ratios,
    summary,
    timed,
)
from .fixtures import section_prompts

LARGER_BATCH = 32  # also measured: the batch size the plugin's default is compared with


def plugin_default(option: str):
    """The default of one of the ``aigen`` plugin's options in mkdocs.yml."""
    from mkdocs_aigen.config import AigenConfig

    config = AigenConfig()
    config.load_dict({})
    config.validate()
    return config[option]


def new_tokens(ctx: Context) -> int:
    return 8 if ctx.quick else plugin_default("max_new_tokens")


def forced_settings(tokens: int):
    """The plugin's default sampling settings, with every section forced to ``tokens`` new tokens."""
    from mkdocs_aigen.ml.decoding import DecodingSettings

    return DecodingSettings(max_new_tokens=tokens, min_new_tokens=tokens)


def batched(generator, prompts: list[str]) -> dict[str, Any]:
    """The plugin's path: one :class:`TransformersGenerator` call for every section."""
    from mkdocs_aigen.ml.decoding import GenerationRequest

    requests = [GenerationRequest(prompt, seed, stop_heading_level=None) for seed, prompt in enumerate(prompts)]
    times, results = timed(lambda: generator.generate(requests))
    return {**times, "tokens": sum(r.new_tokens for r in results)}


def naive(model, tokenizer, prompts: list[str], settings, context_length: int) -> dict[str, Any]:
    """The transformers docs' way: ``model.generate(**tokenizer(prompt, return_tensors="pt"), …)`` per section.

    Like the plugin, it keeps the last prompt tokens that leave room in the context for the new ones.
    """
    import torch

    room = context_length - settings.max_new_tokens

    def loop() -> int:
        tokens = 0
        for seed, prompt in enumerate(prompts):
            torch.manual_seed(seed)
            inputs = {key: value[:, -room:] for key, value in tokenizer(prompt, return_tensors="pt").items()}
            output = model.generate(
                **inputs, max_new_tokens=settings.max_new_tokens, min_new_tokens=settings.min_new_tokens,
                do_sample=True, temperature=settings.temperature, top_p=settings.top_p,
                repetition_penalty=settings.repetition_penalty, no_repeat_ngram_size=settings.no_repeat_ngram_size,
                pad_token_id=tokenizer.pad_token_id,
            )
            tokens += output.shape[1] - inputs["input_ids"].shape[1]
        return tokens

    times, tokens = timed(loop)
    return {**times, "tokens": tokens}


def run(ctx: Context) -> Result:
    import torch

    from mkdocs_aigen.ml.backends.local import TransformersGenerator
    from mkdocs_aigen.ml.checkpoint import load_causal_lm

    ctx.reset_torch_threads()
    prompts = section_prompts(EXAMPLE_SITE / "mkdocs.yml")
    settings = forced_settings(new_tokens(ctx))
    batch_size = plugin_default("batch_size")
    generators = {size: TransformersGenerator(ctx.model_dir, settings, batch_size=size, device="cpu")
                  for size in (batch_size, LARGER_BATCH)}
    model, tokenizer = load_causal_lm(ctx.model_dir, device="cpu")
    threads = torch.get_num_threads()  # as the plugin's generator left them; the naive loop runs with them too
    larger = f"batched_{LARGER_BATCH}"
    samples = alternate({"batched": lambda: batched(generators[batch_size], prompts),
                         "naive": lambda: naive(model, tokenizer, prompts, settings,
                                                generators[batch_size].context_length),
                         larger: lambda: batched(generators[LARGER_BATCH], prompts)},
                        runs=ctx.runs, warmup=ctx.warmup)
    rates = {name: summary([s["tokens"] / s["seconds"] for s in runs]) for name, runs in samples.items()}
    expected = len(prompts) * settings.max_new_tokens
    equal = all(s["tokens"] == expected for runs in samples.values() for s in runs)
    cpu = statistics.median(ratios(samples["naive"], samples["batched"], "cpu_seconds"))
    at_larger = statistics.median(ratios(samples["naive"], samples[larger]))
    return Result(
        "B2", "drafting throughput",
        f"naive per-section model.generate time ÷ plugin batched time ({len(prompts)} sections × "
        f"{settings.max_new_tokens} tokens, batch {batch_size}, {threads} torch thread(s))",
        samples=ratios(samples["naive"], samples["batched"]), target=Target(">=", 4.0),
        checks={"equal token counts": equal},
        details={"sections": len(prompts), "new_tokens_per_section": settings.max_new_tokens,
                 "batch_size": batch_size, "threads": threads, "tokens_per_second": rates,
                 "cpu_time_ratio": cpu, f"ratio_at_batch_{LARGER_BATCH}": at_larger, "runs": samples},
        lines=[f"batched {rates['batched']['median']:.0f} tok/s vs naive {rates['naive']['median']:.0f} tok/s "
               f"(medians; {expected} tokens per run each way); CPU-time ratio {cpu:.2f}×",
               f"at batch_size {LARGER_BATCH}: {rates[larger]['median']:.0f} tok/s, {at_larger:.2f}× naive"],
    )
