"""Each benchmark runs at its smoke size with the tiny model, so it cannot rot. No time is asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.b6_cold_demo import demo_steps

pytestmark = pytest.mark.build


def run_quick(bench_id: str, model_dir: Path, out: Path):
    (result,) = main(["--quick", "--only", bench_id, "--model", str(model_dir), "--out", str(out)])
    assert result.error is None, result.error
    assert result.bench_id == bench_id and len(result.samples) == 1
    assert math.isfinite(result.samples[0]) and result.samples[0] > 0
    data = json.loads(out.read_text(encoding="utf-8"))
    entry = data["benchmarks"][bench_id]
    assert list(data["benchmarks"]) == [bench_id]
    assert entry["median"] == entry["min"] == entry["max"] == result.samples[0]
    assert entry["runs"] == 1 and entry["met"] in (True, False, None)
    assert data["environment"]["model"] == str(model_dir) and data["environment"]["quick"] is True
    return result


def test_b1_warm_rebuild_serves_the_cache_without_torch(tiny_model_dir, tmp_path):
    result = run_quick("B1", tiny_model_dir, tmp_path / "r.json")
    assert result.checks == {"torch not imported": True, "nothing drafted": True}
    (cached,), (disabled,) = result.details["runs"]["cached"], result.details["runs"]["disabled"]
    assert cached["cached"] == result.details["stub_sections"] > 0 and disabled["cached"] is None


def test_b2_throughput_counts_equal_tokens_both_ways(tiny_model_dir, tmp_path):
    result = run_quick("B2", tiny_model_dir, tmp_path / "r.json")
    assert result.checks == {"equal token counts": True}
    (batched,), (naive,) = result.details["runs"]["batched"], result.details["runs"]["naive"]
    assert batched["tokens"] == naive["tokens"] == result.details["sections"] * 8


def test_b3_int8_measures_both_perplexities(tiny_model_dir, tmp_path):
    result = run_quick("B3", tiny_model_dir, tmp_path / "r.json")
    perplexity = result.details["perplexity"]
    assert set(perplexity) == {"fp32", "int8"} and all(1 < p < math.inf for p in perplexity.values())
    assert list(result.checks) == ["perplexity within 3%"]


def test_b4_training_compares_equal_work(tiny_model_dir, tmp_path):
    result = run_quick("B4", tiny_model_dir, tmp_path / "r.json")
    assert result.checks == {"same tokens per run": True}
    (ours,), (trainer,) = result.details["runs"]["fine_tune"], result.details["runs"]["trainer"]
    assert ours["steps"] == trainer["steps"] == 2


def test_b5_scale_reports_each_size(tiny_model_dir, tmp_path):
    result = run_quick("B5", tiny_model_dir, tmp_path / "r.json")
    rows = result.details["by_sections"]
    assert list(rows) == [2, 8]
    assert all(row["peak_rss_mb"] > 50 and row["tokens"] > 0 for row in rows.values())


def test_b6_reads_the_demo_steps_from_the_makefile(tiny_model_dir, tmp_path):
    steps = demo_steps(tmp_path / "site", tiny_model_dir)
    train = [step for step in steps if "mkdocs-aigen train" in step]
    assert len(train) == 1 and train[0].endswith(f"--base {tiny_model_dir}")
    assert all(str(tmp_path / "site") in step for step in steps)
    assert any("mkdocs build" in step for step in steps)
