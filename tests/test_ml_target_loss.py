"""The loss computed on target positions only equals the full-logits loss restricted to targets."""

import pytest
import torch
import torch.nn.functional as F

from mkdocs_aigen.ml.loop import _decoder_and_head, _loss_sum
from mkdocs_aigen.ml.model import ModelShape, build_model, train_tokenizer


@pytest.fixture(scope="module")
def model():
    texts = ["def load(path): return open(path).read()\n" * 20, "配置文件的加载与保存。" * 20]
    tokenizer = train_tokenizer(texts, 300, 64)
    return build_model(ModelShape(layers=2, hidden=32, heads=2, vocab_size=300), tokenizer, 64, 0,
                       zero_init_outputs=False).eval()


def full_logits_loss(model, inputs, labels):
    logits = model(input_ids=inputs).logits
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=-100, reduction="sum")


@pytest.mark.parametrize("masked_share", [0.0, 0.7])
def test_target_only_loss_matches_full_logits(model, masked_share):
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randint(0, 300, (3, 40), generator=generator)
    labels = torch.randint(0, 300, (3, 40), generator=generator)
    labels[torch.rand(3, 40, generator=generator) < masked_share] = -100
    assert _decoder_and_head(model) is not None  # the target-only path is the one measured
    loss, count = _loss_sum(model, inputs, labels)
    assert int(count) == int((labels != -100).sum())
    torch.testing.assert_close(loss, full_logits_loss(model, inputs, labels), rtol=1e-5, atol=1e-4)


def test_gradients_match_full_logits(model):
    inputs = torch.randint(0, 300, (2, 24), generator=torch.Generator().manual_seed(2))
    labels = inputs.roll(-1, dims=1)
    labels[:, :16] = -100
    grads = []
    for compute in (lambda: _loss_sum(model, inputs, labels)[0], lambda: full_logits_loss(model, inputs, labels)):
        model.zero_grad()
        compute().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for ours, full in zip(*grads):
        torch.testing.assert_close(ours, full, rtol=1e-4, atol=1e-5)


def test_wrappers_keep_the_full_forward(model):
    assert _decoder_and_head(torch.nn.Sequential(model)) is None
