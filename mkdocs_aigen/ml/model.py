"""Fresh models: a byte-level BPE tokenizer trained on texts and a Qwen3 decoder of a given shape.

Pretraining (:mod:`mkdocs_aigen.ml.pretrain`) and the tests' tiny model both build through here.
The decoder has RoPE, QK-norm, RMSNorm and tied embeddings; for pretraining its attention and MLP
output projections start at zero (each block starts as the identity).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from mkdocs_aigen.errors import AigenError

EOS = "<|endoftext|>"
ARCHITECTURE = "Qwen3ForCausalLM"


class ModelShapeError(AigenError):
    """A model shape that cannot be built."""


@dataclass
class ModelShape:
    """Size of the Qwen3 decoder."""

    layers: int = 4
    hidden: int = 256
    heads: int = 4
    kv_heads: int | None = None
    intermediate: int | None = None
    vocab_size: int = 8192

    def __post_init__(self) -> None:
        if min(self.layers, self.hidden, self.heads) < 1:
            raise ModelShapeError("--layers, --hidden and --heads must be >= 1")
        if self.hidden % self.heads:
            raise ModelShapeError(f"--hidden {self.hidden} must be a multiple of --heads {self.heads}")
        if (self.hidden // self.heads) % 2:
            raise ModelShapeError("--hidden / --heads (the head size) must be even for RoPE")
        kv = self.kv_heads or self.heads
        if self.heads % kv:
            raise ModelShapeError(f"--heads {self.heads} must be a multiple of --kv-heads {kv}")
        if self.vocab_size < 260:
            raise ModelShapeError("--vocab-size must be >= 260 (256 bytes + special tokens)")

    @property
    def intermediate_size(self) -> int:
        """SwiGLU width: ``intermediate``, else about 8/3 of hidden rounded up to a multiple of 32."""
        return self.intermediate or -(-8 * self.hidden // 3 // 32) * 32


def train_tokenizer(texts: Iterable[str], vocab_size: int, max_length: int):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts``, with ``<|endoftext|>`` as
    its end-of-text, beginning and padding token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token=EOS, bos_token=EOS, pad_token=EOS, model_max_length=max_length
    )


def build_model(shape: ModelShape, tokenizer, max_positions: int, seed: int, *, zero_init_outputs: bool = True):
    """A freshly initialised Qwen3 causal LM for ``tokenizer``.

    ``zero_init_outputs``: attention and MLP output projections start at zero, which keeps long runs
    stable; a fit of a few dozen steps learns faster from the plain random init.
    """
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    model_config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads or shape.heads,
        head_dim=shape.hidden // shape.heads,
        max_position_embeddings=max_positions,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=True,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        use_cache=True,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(model_config, attn_implementation="sdpa")
    if not zero_init_outputs:
        return model
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
    return model
