"""A pre-allocated KV cache whose rows ("slots") each hold one sequence, at its own length.

A slot is filled by a forward pass over one prompt alone (no padding), then all slots decode one
token each per forward pass, each writing at its own position; a finished sequence's slot is
handed to the next one. The keys and values are allocated once (on the first write), so decoding
never concatenates tensors. :class:`PrefillMemo` keeps recent prompts' slot states, so a request
re-sampled with another seed skips its prompt's forward pass.

Imported by the local backend only when it generates (it imports torch and transformers).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from transformers.cache_utils import Cache, CacheLayerMixin


class SlotCache(Cache):
    """``slots`` sequences of up to ``capacity`` tokens each.

    Before each forward pass, :meth:`prepare` says which slots it runs and where each one's new
    tokens go; the model then sizes its attention mask with :meth:`get_mask_sizes` and writes
    through :meth:`update`.
    """

    def __init__(self, slots: int, capacity: int) -> None:
        super().__init__(layer_class_to_replicate=partial(_SlotLayer, self))
        self.slots = slots
        self.capacity = capacity
        self.kv_length = 0  # cache columns the next forward attends to
        self.query_offset = 0
        self._rows = slice(0, 0)
        self._row_index = self._positions = None

    def prepare(self, first_slot: int, starts: list[int], query_length: int, device) -> None:
        """The next forward runs slots ``first_slot …`` (one per entry of ``starts``) with
        ``query_length`` new tokens each, written from the slot's ``start`` on."""
        self._rows = slice(first_slot, first_slot + len(starts))
        self._row_index = torch.arange(self._rows.start, self._rows.stop, device=device)[:, None]
        self._positions = torch.tensor(starts, device=device)[:, None] + torch.arange(query_length, device=device)
        self.kv_length = max(starts) + query_length
        self.query_offset = self.kv_length - query_length

    def move(self, source: int, target: int) -> None:
        """Copy slot ``source``'s sequence into slot ``target`` (to keep the running slots first)."""
        for layer in self.layers:
            layer.keys[target] = layer.keys[source]
            layer.values[target] = layer.values[source]

    def slot_state(self, slot: int, length: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """A copy of the first ``length`` keys and values of ``slot``, layer by layer."""
        return [(layer.keys[slot, :, :length].clone(), layer.values[slot, :, :length].clone()) for layer in self.layers]

    def fill_slot(self, slot: int, state: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Put a :meth:`slot_state` back, into ``slot`` (allocating the cache if it is still empty)."""
        while len(self.layers) < len(state):
            self.layers.append(_SlotLayer(self))
        for layer, (keys, values) in zip(self.layers, state):
            if not layer.is_initialized:
                layer.lazy_initialization(keys[None], values[None])
            layer.keys[slot, :, : keys.shape[1]] = keys
            layer.values[slot, :, : values.shape[1]] = values

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.query_offset

    def get_mask_sizes(self, query_length: int, layer_idx: int) -> tuple[int, int]:
        return self.kv_length, 0


class _SlotLayer(CacheLayerMixin):
    """One layer's keys and values, ``[slots, heads, capacity, head_dim]``."""

    def __init__(self, owner: SlotCache) -> None:
        super().__init__()
        self.owner = owner

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        heads = key_states.shape[1]
        self.keys = key_states.new_zeros(self.owner.slots, heads, self.owner.capacity, key_states.shape[-1])
        self.values = value_states.new_zeros(self.owner.slots, heads, self.owner.capacity, value_states.shape[-1])
        self.is_initialized = True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        """Write each running slot's new keys and values at its positions; return the running slots'
        keys and values up to the longest of them (the attention mask hides the rest)."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        owner = self.owner
        self.keys[owner._row_index, :, owner._positions] = key_states.transpose(1, 2)
        self.values[owner._row_index, :, owner._positions] = value_states.transpose(1, 2)
        return self.keys[owner._rows, :, : owner.kv_length], self.values[owner._rows, :, : owner.kv_length]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.owner.kv_length, 0

    def get_seq_length(self) -> int:
        return self.owner.query_offset

    def get_max_length(self) -> int:
        return self.owner.capacity


class PrefillMemo:
    """The slot states and next-token logits of recent prompts, least recently used dropped first
    beyond ``max_bytes``: a request re-sampled with another seed skips its prompt's forward pass."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, ...], tuple[list, torch.Tensor, int]] = OrderedDict()
        self._bytes = 0

    def get(self, prompt: tuple[int, ...]) -> tuple[list, torch.Tensor] | None:
        entry = self._entries.get(prompt)
        if entry is None:
            return None
        self._entries.move_to_end(prompt)
        return entry[0], entry[1]

    def put(self, prompt: tuple[int, ...], state: list, logits: torch.Tensor) -> None:
        size = logits.nbytes + sum(keys.nbytes + values.nbytes for keys, values in state)
        if size > self.max_bytes or prompt in self._entries:
            return
        self._entries[prompt] = (state, logits, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            self._bytes -= self._entries.popitem(last=False)[1][2]
