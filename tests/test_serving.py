"""``backend: openai`` against a real ``transformers serve`` of the shipped base on loopback, with a fault
proxy in front: drafts, cache, warm builds, retries, one-line failures, nothing lost, no key leaked.

The server is started once for the module; the last test kills it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import write_site
from fakes import FakeBackend
from fault_proxy import FAULTS, FaultProxy
from test_build import REPO, snapshot

from benchmarks.b8_serving import free_port, transformers_serve
from mkdocs_aigen.checks.verdicts import CodeChecker
from mkdocs_aigen.drafting.cache import DraftCache
from mkdocs_aigen.drafting.engine import Drafter, DraftSettings, SectionJob
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.ml.backends.openai import (
    ServerError,
    ServerGenerator,
    ServerSettings,
    stop_sequences,
)
from mkdocs_aigen.ml.decoding import DecodingSettings, GenerationRequest
from mkdocs_aigen.settings import PACKAGED_MODEL, Settings

pytestmark = pytest.mark.build
KEY = "sk-test-9d1f0c7e-never-shown"
KEY_ENV = "AIGEN_TEST_SERVER_KEY"
DECODING = DecodingSettings(max_new_tokens=12)
DRAFT_RE = r'data-aigen-fill="generated" data-aigen-section="([^"]+)"'


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``(api root, process)`` of ``transformers serve`` serving the shipped base dir."""
    with transformers_serve(PACKAGED_MODEL, tmp_path_factory.mktemp("serve") / "serve.log") as server:
        yield server


@pytest.fixture
def proxy(served):
    proxy = FaultProxy(served[0], stall=3.0)
    yield proxy
    proxy.close()


def generator(url: str, **options) -> ServerGenerator:
    return ServerGenerator(ServerSettings(url, str(PACKAGED_MODEL), **{"concurrency": 1, **options}), DECODING)


def requests(count: int) -> list[GenerationRequest]:
    return [GenerationRequest(f"# Widgets\n\n## Part {n}\n\n", seed=n) for n in range(count)]


def server_options(url: str, **extra: object) -> str:
    options = {"backend": "openai", "base_url": url, "served_model": str(PACKAGED_MODEL),
               "model_revision": "shipped-base", "concurrency": 1, "request_timeout": 30, "request_retries": 1,
               "api_key_env": KEY_ENV, **extra}
    return "".join(f"      {name}: {value}\n" for name, value in options.items())


def build(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(config), *args], capture_output=True,
                          text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                                          "OMP_NUM_THREADS": "1", KEY_ENV: KEY})


def cached_drafts(root: Path) -> list[Path]:
    return [p for p in (root / ".aigen" / "cache").rglob("*.json") if "verdicts" not in p.parts]


@pytest.mark.unit
@pytest.mark.parametrize("url", ["http://example.org/v1", "https://10.1.2.3:8000/v1", "http://my-gpu-box:8000/v1"])
def test_a_remote_base_url_needs_allow_remote(tmp_path, url):
    options = {"backend": "openai", "base_url": url, "served_model": "m", "model_revision": "r"}
    with pytest.raises(SettingsError) as caught:
        Settings.load(options, tmp_path, tmp_path / "docs", source="site/mkdocs.yml")
    message = str(caught.value)
    assert message.startswith("site/mkdocs.yml: plugins.aigen.base_url: ") and "allow_remote: true" in message
    assert "\n" not in message
    assert Settings.load({**options, "allow_remote": True}, tmp_path, tmp_path / "docs").server.base_url == url


@pytest.mark.unit
@pytest.mark.parametrize("url", ["http://localhost:8000/v1", "http://127.0.0.2:1/v1", "http://[::1]:8000/v1"])
def test_loopback_needs_no_permission_and_an_unpinned_model_warns_once(tmp_path, caplog, url):
    options = {"backend": "openai", "base_url": url, "served_model": "m"}
    Settings.load(options, tmp_path, tmp_path / "docs")
    assert [r.getMessage().count("not reproducible") for r in caplog.records] == [1]
    caplog.clear()
    Settings.load({**options, "generate": "cache-only"}, tmp_path, tmp_path / "docs")
    Settings.load({**options, "model_revision": "sha256:abc"}, tmp_path, tmp_path / "docs")
    assert caplog.records == []


@pytest.mark.unit
@pytest.mark.parametrize(("options", "message"), [
    ({}, "plugins.aigen.base_url: backend: openai needs the server's http(s) URL"),
    ({"base_url": "127.0.0.1:8000"}, "plugins.aigen.base_url:"),
    ({"base_url": "http://127.0.0.1:8000/v1"}, "plugins.aigen.served_model:"),
    ({"base_url": "http://127.0.0.1:8000/v1", "served_model": "m", "concurrency": 0}, "plugins.aigen.concurrency:"),
    ({"base_url": "http://127.0.0.1:8000/v1", "served_model": "m", "api": "grpc"}, "plugins.aigen.api:"),
])
def test_server_options_are_checked_in_one_line(tmp_path, options, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.load({"backend": "openai", **options}, tmp_path, tmp_path / "docs")


@pytest.mark.unit
def test_the_engine_caches_each_chunk_as_it_is_drafted(tmp_path):
    answered = []

    def answer(request):
        if len(answered) == 2:  # the second chunk fails
            raise ServerError("backend openai at http://127.0.0.1:1/v1: connection failed")
        answered.append(request)
        return f"A readable paragraph about part {len(answered)} of the topic."

    backend = FakeBackend(answer)
    backend.chunk_size = 2
    kind = KindLibrary().get("explanation")
    jobs = [SectionJob(f"p{n}.md", StubSpec(f"Topic {n}", code="none"), kind, "Background") for n in range(3)]
    drafter = Drafter(DraftCache(tmp_path), DraftSettings(), backend, CodeChecker("off", None))
    with pytest.raises(ServerError):
        drafter.generate(jobs)
    found, misses = drafter.lookup(jobs)
    assert list(found) == jobs[:2] and misses == jobs[2:]


def test_drafts_through_the_server_are_marked_cached_and_warm_builds_ask_nothing(tmp_path, proxy):
    config = write_site(tmp_path, PACKAGED_MODEL, aigen=server_options(proxy.url))
    cold = build(config, "--strict", "--verbose")
    assert cold.returncode == 0, cold.stderr
    html = (tmp_path / "site" / "guide" / "index.html").read_text()
    assert re.findall(DRAFT_RE, html) == ["overview", "example", "troubleshooting"]
    assert "drafted 9 sections, 0 from cache" in cold.stderr
    assert [(m, p) for m, p, _ in proxy.seen if m == "GET"] == [("GET", "/v1/models")]
    assert proxy.posts() >= 9 and {auth for *_, auth in proxy.seen} == {f"Bearer {KEY}"}  # the key did go out
    assert len(cached_drafts(tmp_path)) == 9

    proxy.reset()
    warm = build(config, "--strict")
    assert warm.returncode == 0 and "drafted 0 sections, 9 from cache" in warm.stderr and proxy.seen == []

    nothing_there = f"http://127.0.0.1:{free_port()}/v1"
    config.write_text(config.read_text().replace(proxy.url, nothing_there) + "      generate: cache-only\n")
    offline = build(config, "--strict")
    assert offline.returncode == 0 and "drafted 0 sections, 9 from cache" in offline.stderr
    assert re.findall(DRAFT_RE.replace("generated", "cache"), (tmp_path / "site" / "guide" / "index.html").read_text())

    texts = [cold.stdout, cold.stderr, warm.stderr, offline.stderr]
    texts += [p.read_text(errors="replace") for p in (tmp_path / ".aigen").rglob("*") if p.is_file()]
    assert (tmp_path / ".aigen" / "report.json").is_file() and not any(KEY in text for text in texts)


def test_server_answers_are_cut_at_the_next_heading_or_closing_fence(proxy):
    answers = {0: b'{"choices": [{"text": "Intro.\\n\\n## Next\\n\\nleak", "index": 0, "finish_reason": "stop"}]}',
               1: b'{"choices": [{"text": "print(1)\\n```\\n\\n## After", "index": 0, "finish_reason": "stop"}]}'}
    proxy.plan = answers.get
    prose, code = generator(proxy.url).generate([
        GenerationRequest("# T\n\n## Part\n\n", 1),
        GenerationRequest("# T\n\n```python\n", 2, stop_heading_level=None, stop_at_fence=True)])
    assert (prose.text, prose.stopped) == ("Intro.\n\n", "heading")
    assert (code.text, code.stopped) == ("print(1)\n", "fence")
    assert stop_sequences(GenerationRequest("x\n", 0, stop_heading_level=2), None) == ["\n# ", "\n## "]
    assert stop_sequences(GenerationRequest("~~~~\n", 0, None, stop_at_fence=True), "~~~~") == ["\n~~~~"]


def test_transient_faults_are_retried_and_change_nothing(proxy):
    expected = [r.text for r in generator(proxy.url).generate(requests(4))]
    proxy.reset()
    proxy.plan = {0: "500", 2: "429", 4: "timeout", 6: "drop"}.get
    got = generator(proxy.url, request_timeout=1, request_retries=1).generate(requests(4))
    assert [r.text for r in got] == expected and proxy.posts() == 8


@pytest.mark.parametrize(("fault", "message"), [
    ("500", "answered HTTP 500 (injected 500), after 1 retries"),
    ("429", "answered HTTP 429 (injected 429), after 1 retries"),
    ("timeout", "no answer within request_timeout (1 s), after 1 retries"),
    ("drop", "connection failed (Server disconnected without sending a response.), after 1 retries"),
    ("malformed", "answered garbage"),
])
def test_a_lasting_fault_is_one_line_naming_base_url(proxy, fault, message):
    assert set(FAULTS) >= {fault}
    proxy.plan = lambda n: fault
    with pytest.raises(ServerError) as caught:
        generator(proxy.url, request_timeout=1, request_retries=1).generate(requests(1))
    text = str(caught.value)
    assert text.startswith(f"backend openai at {proxy.url}: ") and message in text and "\n" not in text
    assert proxy.posts() == (1 if fault == "malformed" else 2)


def test_a_failing_server_fails_the_build_and_keeps_what_was_drafted(tmp_path, proxy):
    config = write_site(tmp_path, PACKAGED_MODEL, aigen=server_options(proxy.url))
    sources = snapshot(tmp_path / "docs")
    proxy.plan = lambda n: "500" if cached_drafts(tmp_path) else None  # fails once a first chunk is cached
    failed = build(config, "--strict")
    kept = len(cached_drafts(tmp_path))
    assert failed.returncode == 1 and 0 < kept < 9 and "Traceback" not in failed.stderr
    errors = [line for line in failed.stderr.splitlines() if f"backend openai at {proxy.url}: answered HTTP 500" in line]
    assert len(errors) == 1, failed.stderr
    assert not (tmp_path / "site" / "guide" / "index.html").exists() and snapshot(tmp_path / "docs") == sources

    draft = subprocess.run([sys.executable, "-m", "mkdocs_aigen.cli", "draft", "-f", str(config)], capture_output=True,
                           text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), KEY_ENV: KEY})
    assert draft.returncode == 2 and snapshot(tmp_path / "docs") == sources
    assert draft.stderr.strip().splitlines()[-1].startswith(f"mkdocs-aigen draft: error: backend openai at {proxy.url}")

    proxy.reset()
    healed = build(config, "--strict")
    assert healed.returncode == 0 and f"drafted {9 - kept} sections, {kept} from cache" in healed.stderr, healed.stderr


def test_killing_the_server_mid_drafting_keeps_what_was_drafted(tmp_path, served):
    """Runs last: it kills the module's server."""
    url, process = served
    config = write_site(tmp_path, PACKAGED_MODEL, aigen=server_options(url))

    def kill_once_a_chunk_is_cached() -> None:
        deadline = time.monotonic() + 300
        while not cached_drafts(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_a_chunk_is_cached, daemon=True)
    killer.start()
    failed = build(config, "--strict")
    killer.join()
    kept = len(cached_drafts(tmp_path))
    assert failed.returncode == 1 and 0 < kept < 9, failed.stderr
    errors = [line for line in failed.stderr.splitlines() if f"backend openai at {url}: connection failed" in line]
    assert len(errors) == 1 and "after 1 retries; is the server running?" in errors[0], failed.stderr
    assert not (tmp_path / "site" / "guide" / "index.html").exists()
