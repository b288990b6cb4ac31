"""The ``local`` backend: batched, seeded text generation with an in-process transformers causal LM."""

from __future__ import annotations

import inspect
import math
import os
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mkdocs_aigen.ml.backends import BATCH_SIZE, BackendSettings
from mkdocs_aigen.ml.backends.stopping import close_fences, cut_at_stop
from mkdocs_aigen.ml.checkpoint import (
    adapter_base_dir,
    damaged_model_dir,
    load_causal_lm,
    weights_digest,
)
from mkdocs_aigen.ml.constrain import NameGuard, name_guard
from mkdocs_aigen.ml.decoding import (
    DecodingSettings,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
)
from mkdocs_aigen.ml.stops import open_fence

# A last line that is only markers may still turn into a heading/fence or not ("##" -> "##x").
_UNDECIDED_TAIL_RE = re.compile(r"[ \t#`~]*\Z")
_DECODE_CONTEXT_TOKENS = 4
# Requests per batch slot handed to one generate call: a row that ends early (a heading, EOS) hands
# its slot to a waiting request, so the batch stays full until the last requests.
_REQUESTS_PER_SLOT = 4
# Prompts' keys and values kept for re-sampled requests (guard and code retries reuse their prompt).
_PREFILL_MEMO_BYTES = 256 * 2**20
# Up to this much weights (about 100M fp32 parameters) decoding ops take microseconds: a second
# thread gained ~10% on an idle 2-CPU machine, and made drafting 3-40x slower whenever another
# process held a CPU, as every op waited for the descheduled thread (benchmarks B2, B6).
_SINGLE_THREAD_MAX_WEIGHT_BYTES = 400 * 2**20


def _usable_cpus() -> int:
    """CPUs this process may use: affinity mask, capped by a cgroup v2 CPU quota."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count or 1)


def _cap_cpu_threads(weight_bytes: int) -> None:
    """Limit torch's intra-op threads, unless the user set them (``OMP_NUM_THREADS``): one for a
    model of at most :data:`_SINGLE_THREAD_MAX_WEIGHT_BYTES` of weights, else the usable CPUs."""
    import torch

    if "OMP_NUM_THREADS" in os.environ or "MKL_NUM_THREADS" in os.environ:
        return
    usable = 1 if weight_bytes <= _SINGLE_THREAD_MAX_WEIGHT_BYTES else _usable_cpus()
    if torch.get_num_threads() > usable:
        torch.set_num_threads(usable)


@dataclass
class _Row:
    """Decoding state of one request inside a batch."""

    index: int
    request: GenerationRequest
    prompt_ids: list[int]
    max_new_tokens: int
    fence: str | None  # the fence the prompt ends inside of
    sampler: Any  # torch.Generator seeded with the request's seed
    processors: list[Any]  # transformers logits processors that read the row's tokens, in order
    context_ids: list[int]  # last prompt tokens, decoded with the continuation (see _decode_new)
    context_text: str
    names: NameGuard | None = None  # limits names after ``<package>.`` in code to the request's names
    new_ids: list[int] = field(default_factory=list)


class LocalBackend:
    """A local model directory: its identity is the weights' digest (no torch); it loads on first use."""

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings

    def identity(self) -> dict[str, Any]:
        s = self.settings
        identity = {"backend": "local", "weights": weights_digest(s.model_dir, memo_file=s.digest_memo),
                    "quantize": s.quantize}
        base = adapter_base_dir(s.model_dir)  # a LoRA adapter dir: drafts depend on its base too
        if base is not None:
            identity["base_weights"] = weights_digest(base, memo_file=s.digest_memo)
        return identity

    @property
    def chunk_size(self) -> int:
        return _REQUESTS_PER_SLOT * self.settings.batch_size

    def describe(self) -> str:
        return str(self.settings.model_dir)

    @cached_property
    def generator(self) -> TransformersGenerator:
        s = self.settings
        device = s.device or ("cpu" if s.quantize else None)  # quantized models run on the CPU only
        return TransformersGenerator(s.model_dir, s.decoding, batch_size=s.batch_size, device=device,
                                     quantize=s.quantize)


class TransformersGenerator:
    """Generates continuations with a local causal LM, loading it once.

    Each request gets its own seeded sampler, logits processors and text-based stop, so its
    text does not depend on which requests share its batch (up to float noise in the batched
    forward pass). ``min_new_tokens`` suppresses EOS only: heading and fence stops apply at any
    length, since the returned text must never contain them.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        settings: DecodingSettings,
        *,
        batch_size: int = BATCH_SIZE,
        device: str | None = None,
        quantize: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.settings = settings
        self.batch_size = batch_size
        self.model_dir = Path(model_dir)
        self.model, self.tokenizer = load_causal_lm(model_dir, device=device, quantize=quantize)
        self.device = self.model.get_input_embeddings().weight.device
        if self.device.type == "cpu":
            _cap_cpu_threads(sum(path.stat().st_size for path in Path(model_dir).glob("*.safetensors")))
        config = self.model.config
        self.context_length = getattr(config, "max_position_embeddings", None) or min(
            self.tokenizer.model_max_length, 2048
        )
        eos = config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids = {eos} if isinstance(eos, int) else set(eos or ())
        # transformers 5.x renamed forward's ``past_key_values`` to ``cache``.
        forward_params = inspect.signature(self.model.forward).parameters
        self._cache_arg = "cache" if "cache" in forward_params else "past_key_values"
        fallback = self.tokenizer.pad_token_id
        self.pad_id = fallback if fallback is not None else next(iter(self.eos_ids), 0)
        self._warpers = self._make_warpers()
        from mkdocs_aigen.ml.backends.slots import PrefillMemo

        self._prefills = PrefillMemo(_PREFILL_MEMO_BYTES)

    def _make_warpers(self) -> list[Any]:
        """Temperature and top-p: they ignore the tokens so far, so they run once on the whole batch."""
        from transformers import TemperatureLogitsWarper, TopPLogitsWarper

        warpers: list[Any] = []
        if self.settings.temperature > 0:
            warpers.append(TemperatureLogitsWarper(self.settings.temperature))
            if self.settings.top_p < 1:
                warpers.append(TopPLogitsWarper(self.settings.top_p))
        return warpers

    def generate(
        self, requests: Sequence[GenerationRequest], progress: ProgressCallback | None = None
    ) -> list[GenerationResult]:
        """Continuations of ``requests``, in request order; ``progress`` is called as each one ends."""
        import torch

        rows = [self._make_row(index, request) for index, request in enumerate(requests)]
        rows.sort(key=lambda row: len(row.prompt_ids))  # neighbours of similar length: short attention spans
        results: list[GenerationResult | None] = [None] * len(rows)
        done = tokens = 0
        with torch.inference_mode():
            for row, result in self._generate_rows(rows):
                results[row.index] = result
                done += 1
                tokens += result.new_tokens
                if progress is not None:
                    progress(done, tokens)
        return results  # type: ignore[return-value]

    def _make_row(self, index: int, request: GenerationRequest) -> _Row:
        """Tokenise (left-truncating to fit the context) and set up one request's state."""
        import torch
        from transformers import (
            MinNewTokensLengthLogitsProcessor,
            NoRepeatNGramLogitsProcessor,
            RepetitionPenaltyLogitsProcessor,
        )

        settings = self.settings
        max_new = min(request.max_new_tokens or settings.max_new_tokens, self.context_length - 1)
        prompt_ids = self.tokenizer(request.prompt, verbose=False)["input_ids"] or [self.pad_id]
        prompt_ids = prompt_ids[-(self.context_length - max_new) :]
        processors: list[Any] = []
        if settings.min_new_tokens and self.eos_ids:
            processors.append(
                MinNewTokensLengthLogitsProcessor(
                    len(prompt_ids), settings.min_new_tokens, sorted(self.eos_ids), self.device
                )
            )
        if settings.repetition_penalty != 1:
            processors.append(RepetitionPenaltyLogitsProcessor(settings.repetition_penalty))
        if settings.no_repeat_ngram_size:
            processors.append(NoRepeatNGramLogitsProcessor(settings.no_repeat_ngram_size))
        sampler = torch.Generator(device=self.device)
        sampler.manual_seed(request.seed)
        context_ids = prompt_ids[-_DECODE_CONTEXT_TOKENS:]
        return _Row(
            index=index,
            request=request,
            prompt_ids=prompt_ids,
            max_new_tokens=max_new,
            fence=open_fence(request.prompt),
            sampler=sampler,
            processors=processors,
            context_ids=context_ids,
            context_text=self.tokenizer.decode(context_ids, skip_special_tokens=True),
            names=name_guard(request.prompt, request.names, request.stop_at_fence, self.tokenizer),
        )

    def _generate_rows(self, rows: list[_Row]):
        """Decode ``rows`` through ``batch_size`` slots of a pre-allocated KV cache; yield
        ``(row, result)`` as rows finish. A row enters a free slot with a forward pass over its
        prompt alone (no padding), all slots then decode together, and a finished row's slot goes
        to the next waiting row, so the batch stays full while rows wait."""
        from mkdocs_aigen.ml.backends.slots import SlotCache

        cache = SlotCache(min(self.batch_size, len(rows)),
                          max((len(row.prompt_ids) + row.max_new_tokens for row in rows), default=1))
        waiting = deque(rows)
        running: list[_Row] = []  # running[i] decodes in slot i
        while waiting or running:
            while waiting and len(running) < cache.slots:
                row = waiting.popleft()
                result = self._prefill(row, cache, slot=len(running))
                if result is None:
                    running.append(row)
                else:
                    yield row, result
            if not running:
                continue
            ended: list[int] = []
            tokens = self._next_tokens(running, self._decode_step(running, cache))
            for i, (row, token) in enumerate(zip(running, tokens)):
                row.new_ids.append(token)
                result = self._finished(row)
                if result is not None:
                    ended.append(i)
                    yield row, result
            for i in reversed(ended):  # the last running row moves into the freed slot
                last = running.pop()
                if i < len(running):
                    cache.move(len(running), i)
                    running[i] = last

    def _forward(self, cache: Any, input_ids: list[list[int]], **inputs: Any) -> Any:
        """Last-position logits of one forward pass through ``cache`` (already prepared)."""
        import torch

        ids = torch.tensor(input_ids, device=self.device)
        out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1, **inputs, **{self._cache_arg: cache})
        return out.logits[:, -1, :]

    def _prefill(self, row: _Row, cache: Any, slot: int) -> GenerationResult | None:
        """Run ``row``'s prompt into ``slot`` (or put back a recent run of the same prompt) and pick
        its first token; its result if that ends it."""
        import torch

        prompt = tuple(row.prompt_ids)
        memo = self._prefills.get(prompt)
        if memo is None:
            cache.prepare(slot, [0], len(prompt), self.device)
            positions = torch.arange(len(prompt), device=self.device)[None, :]
            logits = self._forward(cache, [row.prompt_ids], position_ids=positions)
            self._prefills.put(prompt, cache.slot_state(slot, len(prompt)), logits.clone())
        else:
            state, logits = memo
            cache.fill_slot(slot, state)
        row.new_ids.append(self._next_tokens([row], logits.clone())[0])  # picking edits the scores in place
        return self._finished(row)

    def _decode_step(self, running: list[_Row], cache: Any) -> Any:
        """Logits after each running row's last token, every slot at its own position."""
        import torch

        starts = [len(row.prompt_ids) + len(row.new_ids) - 1 for row in running]  # tokens already cached
        cache.prepare(0, starts, 1, self.device)
        positions = torch.tensor(starts, device=self.device)[:, None]
        attention_mask = torch.arange(cache.kv_length, device=self.device)[None, :] <= positions
        return self._forward(cache, [[row.new_ids[-1]] for row in running],
                             position_ids=positions, attention_mask=attention_mask)

    def _next_tokens(self, rows: list[_Row], logits: Any) -> list[int]:
        """Pick each row's next token: its own processors and names, the batch-wide warpers, then greedy or
        the row's own seeded sampler (all row-wise, so a row's pick does not depend on the others)."""
        import torch

        scores = logits.float()
        if not bool(torch.isfinite(scores).all()):
            raise damaged_model_dir(self.model_dir, "its weights give inf/nan scores")
        for i, row in enumerate(rows):
            if row.processors:
                ids = torch.tensor([row.prompt_ids + row.new_ids], device=self.device)
                row_scores = scores[i : i + 1]
                for processor in row.processors:  # LogitsProcessorList would inspect signatures per call
                    row_scores = processor(ids, row_scores)
                scores[i : i + 1] = row_scores
            if row.names is not None:
                row.names.restrict(scores[i], row.new_ids)
        if self.settings.temperature == 0:
            return scores.argmax(dim=-1).tolist()
        for warper in self._warpers:
            scores = warper(None, scores)
        probs = torch.softmax(scores, dim=-1)
        return [int(torch.multinomial(probs[i], 1, generator=row.sampler)) for i, row in enumerate(rows)]

    def _finished(self, row: _Row) -> GenerationResult | None:
        """The row's result if a stop (EOS, heading, fence, length) is reached, else None."""
        hit_eos = row.new_ids[-1] in self.eos_ids
        final = hit_eos or len(row.new_ids) >= row.max_new_tokens
        ids = row.new_ids[:-1] if hit_eos else row.new_ids
        text = self._decode_new(row, ids)
        checked = text if final else text[: _UNDECIDED_TAIL_RE.search(text).start()]
        stop = cut_at_stop(row.request, checked, row.fence)
        if stop is not None:
            return self._result(stop[0], row, stop[1])
        if final:
            return self._result(text, row, "eos" if hit_eos else "length")
        return None

    def _decode_new(self, row: _Row, ids: list[int]) -> str:
        """Text of the new tokens, decoded after a few prompt tokens so that tokenizers which
        drop a leading space at the start of a decode (SentencePiece) keep it."""
        full = self.tokenizer.decode(row.context_ids + ids, skip_special_tokens=True)
        if full.startswith(row.context_text):
            return full[len(row.context_text) :]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    @staticmethod
    def _result(text: str, row: _Row, stopped: str) -> GenerationResult:
        """Result for a row; outside fence mode an unclosed code fence is closed."""
        return GenerationResult(close_fences(row.request, text, row.fence), len(row.new_ids), stopped)
