"""Damaged state — model dirs, storage, cache_dir, cache entries, review state — is recovered, or
reported in one line naming the path and what to do; never a traceback."""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from mini_site import BUILD, mini_site, run

from mkdocs_aigen.authoring.store import ReviewStore
from mkdocs_aigen.cli import main
from mkdocs_aigen.drafting.cache import DraftCache, cache_key
from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.safeio import StorageError, atomic_write_text, remove_stale_temps
from mkdocs_aigen.settings import Settings

MALFORMED_ENTRIES = {
    "code is a string": lambda key: {"key": key, "text": "## A\n\nB", "code": "oops", "tokens": 1},
    "code is null": lambda key: {"key": key, "text": "## A\n\nB", "code": None, "tokens": 1},
    "code holds an empty check": lambda key: {"key": key, "text": "## A\n\nB", "code": [{}], "tokens": 1},
    "text is a number": lambda key: {"key": key, "text": 7, "code": [], "tokens": 1},
    "deeply nested": lambda key: "[" * 100_000 + "]" * 100_000,
    "a list": lambda key: [{"key": key}],
}


def plant(cache: DraftCache, key: str, damage: str) -> None:
    """Put the damage named ``damage`` (a key of MALFORMED_ENTRIES, or "a directory") at the entry's path."""
    path = cache.path(key)
    if path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if damage == "a directory":
        path.unlink(missing_ok=True)
        (path / "inside").mkdir(parents=True)
        return
    value = MALFORMED_ENTRIES[damage](key)
    path.write_text(value if isinstance(value, str) else json.dumps(value))


def one_line(stderr: str) -> list[str]:
    """The lines of ``stderr`` that report a problem; asserts there is no traceback."""
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith(("ERROR", "WARNING", "mkdocs-aigen"))]


# --- unit: cache entries, review state, settings, storage, temp files ------------------------------------


@pytest.mark.parametrize("damage", [*MALFORMED_ENTRIES, "a directory"])
def test_malformed_cache_entry_is_one_warning_and_a_miss(tmp_path, caplog, damage):
    cache = DraftCache(tmp_path)
    key = cache_key({"topic": damage})
    plant(cache, key, damage)
    with caplog.at_level(logging.WARNING):
        assert cache.get(key) is None
    assert len(caplog.records) == 1 and str(cache.path(key)) in caplog.records[0].getMessage()
    cache.put(key, {"text": "## A\n\nB", "code": [{"status": "ok", "language": "python"}], "tokens": 3})
    assert cache.get(key)["code"][0]["status"] == "ok"


BAD_STATES = ['[]', '{"pages": []}', '{"pages": {"a.md": "x"}}', '{"pages": {"a.md": {"s": "x"}}}',
              '{"pages": {"a.md": {"s": {"state": 1}}}}', "[" * 100_000, "\udcff not json"]


@pytest.mark.parametrize("text", BAD_STATES)
def test_malformed_review_state_is_set_aside_and_rebuilt(tmp_path, caplog, text):
    work = tmp_path / ".aigen"
    (work / "feedback").mkdir(parents=True)
    (work / "review-state.json").write_text(text, errors="surrogateescape")
    feedback = {"version": 1, "page": "guide.md", "section": "overview", "heading": "Overview", "approved": "## O",
                "draft_digest": "sha256:d", "approved_digest": "sha256:a", "approved_at": "2026-01-01T00:00:00+00:00"}
    (work / "feedback" / "x.json").write_text(json.dumps(feedback))
    with caplog.at_level(logging.WARNING):
        store = ReviewStore(work)
    assert len(caplog.records) == 1 and "malformed review state" in caplog.records[0].getMessage()
    assert store.pages["guide.md"]["overview"]["state"] == "approved"
    backups = list(work.glob("review-state.json.bad-*"))
    assert len(backups) == 1 and backups[0].read_text(errors="surrogateescape") == text
    store.pages["other.md"] = {"s": {"heading": "S", "state": "drafted", "digest": None}}
    store.save()
    assert set(json.loads((work / "review-state.json").read_text())["pages"]) == {"guide.md", "other.md"}


@pytest.mark.parametrize(("cache_dir", "message"), [
    ("mkdocs.yml", "is a file, not a directory"),
    ("site/aigen-cache", "must be outside site_dir"),
    ("site", "must be outside site_dir"),
    ("docs/cache", "must be outside docs_dir"),
])
def test_cache_dir_is_a_directory_outside_docs_and_site(tmp_path, cache_dir, message):
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")
    with pytest.raises(SettingsError, match=f"^mkdocs.yml: plugins.aigen.cache_dir: .*{message}") as error:
        Settings.load({"cache_dir": cache_dir}, tmp_path, tmp_path / "docs", site_dir=tmp_path / "site")
    assert "\n" not in str(error.value)
    assert Settings.load({"cache_dir": ".aigen/cache"}, tmp_path, tmp_path / "docs", site_dir=tmp_path / "site")


def test_unwritable_path_is_one_storage_error_and_no_temp(tmp_path):
    (tmp_path / "file").write_text("in the way")
    message = r"/file/entry.json: cannot write \(File exists\); make it writable or free some space$"
    with pytest.raises(StorageError, match=message):
        atomic_write_text(tmp_path / "file" / "entry.json", "{}")
    assert [p.name for p in tmp_path.rglob("*")] == ["file"]


def test_stale_temps_are_removed_and_live_ones_kept(tmp_path):
    old = time.time() - 120
    stale_file = tmp_path / "cache" / "ab" / ".ab12.json.k2j3.tmp"
    stale_dir = tmp_path / ".model.x8.tmp"
    live = tmp_path / ".review-state.json.q1.tmp"
    for path in (stale_file, stale_dir / "model.safetensors", live):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("partial")
    for path in (stale_file, stale_dir, stale_dir / "model.safetensors"):
        os.utime(path, (old, old))
    kept = tmp_path / "review-state.json"
    kept.write_text("{}")
    os.utime(kept, (old, old))
    assert remove_stale_temps(tmp_path, None) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["cache", "ab", ".review-state.json.q1.tmp", "review-state.json"])


# --- real builds and CLI runs with the tiny model --------------------------------------------------------


def damage_model(model: Path, how: str) -> None:
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if how == "truncated":
        weights.write_bytes(data[:1000])
    elif how == "garbage":
        weights.write_bytes(bytes(range(256)) * 40)
    elif how == "bytes appended":
        weights.write_bytes(bytes(data) + os.urandom(4000))
    elif how == "config.json invalid":
        (model / "config.json").write_text("{not json")
    elif how == "weights give nan":
        start = 8 + struct.unpack("<Q", data[:8])[0]
        weights.write_bytes(bytes(data[:start]) + b"\xff" * (len(data) - start))  # every float is a NaN


@pytest.fixture
def damaged_site(tmp_path, tiny_model_dir):
    def make(how: str, aigen: str = "") -> Path:
        model = tmp_path / "model"
        shutil.copytree(tiny_model_dir, model)
        damage_model(model, how)
        return mini_site(tmp_path / "site", model, stubs=1, aigen=aigen)
    return make


@pytest.mark.build
@pytest.mark.parametrize("how", ["truncated", "garbage", "bytes appended", "config.json invalid", "weights give nan"])
def test_damaged_model_dir_is_one_line(damaged_site, capsys, how):
    config = damaged_site(how)
    assert main(["draft", "-q", "-f", str(config)]) == 2
    lines = one_line(capsys.readouterr().err)
    model = config.parent.parent / "model"
    assert len(lines) == 1 and lines[0].startswith(f"mkdocs-aigen draft: error: model dir {model} is damaged (")
    assert "save_pretrained()" in lines[0]


@pytest.mark.build
def test_damaged_model_in_a_build_is_one_line_and_cache_only_or_off_never_load_it(damaged_site):
    config = damaged_site("weights give nan")
    model = config.parent.parent / "model"
    result = run(BUILD, config.parent)
    assert result.returncode == 1
    assert [line for line in one_line(result.stderr) if line.startswith("ERROR")] == [
        f"ERROR   -  model dir {model} is damaged (its weights give inf/nan scores); replace it with a complete "
        f"save_pretrained() directory, or run `mkdocs-aigen train` again when it is the site's .aigen/model"]
    damage_model(model, "truncated")
    plain = config.read_text()
    for mode in ("cache-only", "off"):
        config.write_text(f"{plain}      generate: '{mode}'\n")
        result = run(BUILD, config.parent)
        assert result.returncode == 0 and "Traceback" not in result.stderr
        assert "loading model" not in result.stderr


@pytest.mark.build
def test_cache_dir_in_site_dir_stops_the_build_in_one_line(tmp_path, tiny_model_dir):
    config = mini_site(tmp_path, tiny_model_dir, aigen="      cache_dir: site/aigen-cache\n")
    result = run(BUILD, tmp_path)
    assert result.returncode == 1 and not (tmp_path / "site" / "aigen-cache").exists()
    assert [line for line in one_line(result.stderr) if line.startswith("ERROR")] == [
        f"ERROR   -  {config}: plugins.aigen.cache_dir: must be outside site_dir (the cached drafts would be "
        f"published); use e.g. .aigen/cache"]


def in_mount_namespace(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """``script`` (sh) in a private mount namespace, where it may mount read-only or full file systems."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-Urm", "true"]).returncode:
        pytest.skip("no mount namespaces here (unshare -Urm)")
    from mini_site import ENV
    return subprocess.run(["unshare", "-Urm", "sh", "-c", script], cwd=cwd, capture_output=True, text=True, env=ENV)


@pytest.mark.build
def test_read_only_or_full_storage_is_one_line_naming_the_path(tmp_path, tiny_model_dir):
    mini_site(tmp_path, tiny_model_dir, stubs=1, aigen="      generate: 'off'\n")
    (tmp_path / ".aigen").mkdir()
    build = " ".join(BUILD)
    read_only = in_mount_namespace(f"mount --bind .aigen .aigen && mount -o remount,bind,ro .aigen && {build}",
                                   tmp_path)
    full = in_mount_namespace(f"mount -t tmpfs -o size=4k tmpfs .aigen && head -c 4096 /dev/zero > .aigen/fill; "
                              f"{build}", tmp_path)
    for result, problem in ((read_only, "Read-only file system"), (full, "No space left on device")):
        assert result.returncode == 1
        [line] = [line for line in one_line(result.stderr) if line.startswith("ERROR")]
        assert line.startswith(f"ERROR   -  {tmp_path / '.aigen'}/") and f"cannot write ({problem})" in line


@pytest.mark.build
def test_corrupt_cache_entries_and_review_state_are_recovered(tmp_path, tiny_model_dir, capsys):
    mini_site(tmp_path, tiny_model_dir, stubs=3)
    assert run(BUILD, tmp_path).returncode == 0
    cache = DraftCache(tmp_path / ".aigen" / "cache")
    entries = sorted(p.stem for p in cache.root.glob("??/*.json"))
    assert len(entries) == 9  # three stubs of three sections
    for key, damage in zip(entries, itertools.cycle([*MALFORMED_ENTRIES, "a directory"])):
        plant(cache, key, damage)
    result = run(BUILD[:-1], tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert len([line for line in one_line(result.stderr) if "cache entry" in line]) == 9
    assert "drafted 9 sections, 0 from cache" in result.stderr
    assert all(cache.get(key) is not None for key in entries)

    assert main(["draft", "-q", "-f", str(tmp_path / "mkdocs.yml")]) == 0
    state = tmp_path / ".aigen" / "review-state.json"
    recorded = json.loads(state.read_text())
    state.write_text('{"version": 1, "pages": {"stub-0.md": ["not", "a", "mapping"]}}')
    capsys.readouterr()
    assert main(["status", "-f", str(tmp_path / "mkdocs.yml")]) == 0
    assert len(one_line(capsys.readouterr().err)) == 1
    assert json.loads(state.read_text()) == recorded  # rebuilt from the markers
