"""B8 serving: drafting example_site's sections through ``transformers serve`` on loopback vs in-process,
and requests/s through the server at concurrency 1, 4 and 16.

Both sides draft the prose prompts the plugin builds, with the same model (served from a copy whose
``generation_config.json`` turns sampling on: ``transformers serve`` samples only when the model's
own config says so), the plugin's temperature and top-p, per-section seeds and ``max_new_tokens``
per section. They may stop at different lengths (the server has no ``min_new_tokens`` nor
repetition penalty), so the headline compares seconds per generated token.

:func:`transformers_serve` is also what the serving tests start their server with.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .common import EXAMPLE_SITE, Context, Result, alternate, ratios, summary, timed
from .fixtures import section_prompts

CONCURRENCY = (1, 4, 16)
QUICK_SECTIONS = 8
START_DEADLINE_S = 300.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def transformers_serve(model_dir: Path, log: Path, *,
                       deadline: float = START_DEADLINE_S) -> Iterator[tuple[str, subprocess.Popen]]:
    """``transformers serve`` of the local ``model_dir`` (its id: the path as given) on a free loopback
    port, offline; yields the API root ``http://127.0.0.1:PORT/v1`` and the process (the leader of its
    own process group), which is killed after."""
    program = Path(sys.executable).with_name("transformers")
    command = [str(program) if program.exists() else shutil.which("transformers") or "transformers", "serve",
               str(model_dir), "--host", "127.0.0.1", "--port", str(free_port()), "--device", "cpu"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(log.parent / "hf-home"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{command[command.index('--port') + 1]}/v1"
        _wait_until_listed(url, process, log, time.monotonic() + deadline)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_listed(url: str, process: subprocess.Popen, log: Path, deadline: float) -> None:
    """Return once ``GET url/models`` answers; fail with the log's tail if the server dies or is late."""
    while True:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=5) as answer:
                json.load(answer)
                return
        except OSError:
            pass
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        if process.poll() is not None:
            raise RuntimeError(f"transformers serve exited with {process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"transformers serve did not list its model in time:\n{tail}")
        time.sleep(0.5)


def sampling_copy(model_dir: Path, dest: Path) -> Path:
    """``model_dir`` as links, but with ``do_sample: true`` in its generation config."""
    dest.mkdir(parents=True)
    for path in model_dir.iterdir():
        if path.name != "generation_config.json":
            (dest / path.name).symlink_to(path.resolve())
    config_file = model_dir / "generation_config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    (dest / "generation_config.json").write_text(json.dumps({**config, "do_sample": True}))
    return dest


def drafted(generator, prompts: list[str]) -> dict[str, Any]:
    """Seconds, CPU seconds and tokens of one ``generate`` call over every prompt."""
    from mkdocs_aigen.ml.decoding import GenerationRequest

    requests = [GenerationRequest(prompt, seed, stop_heading_level=None) for seed, prompt in enumerate(prompts)]
    times, results = timed(lambda: generator.generate(requests))
    tokens = sum(r.new_tokens for r in results)
    return {**times, "tokens": tokens, "seconds_per_token": times["seconds"] / max(tokens, 1),
            "requests_per_second": len(requests) / times["seconds"]}


def run(ctx: Context) -> Result:
    from mkdocs_aigen.ml.backends.local import TransformersGenerator
    from mkdocs_aigen.ml.backends.openai import ServerGenerator, ServerSettings
    from mkdocs_aigen.ml.decoding import DecodingSettings

    ctx.reset_torch_threads()
    prompts = section_prompts(EXAMPLE_SITE / "mkdocs.yml")
    if ctx.quick:
        prompts = prompts[:QUICK_SECTIONS]
    settings = DecodingSettings(max_new_tokens=8) if ctx.quick else DecodingSettings()
    local = TransformersGenerator(ctx.model_dir, settings, device="cpu")
    scratch = ctx.scratch("b8")
    served_dir = sampling_copy(ctx.model_dir, scratch / "model")
    with transformers_serve(served_dir, scratch / "serve.log") as (url, _):
        servers = {n: ServerGenerator(ServerSettings(url, str(served_dir), concurrency=n), settings)
                   for n in CONCURRENCY}
        samples = alternate({"served": lambda: drafted(servers[4], prompts), "in_process": lambda: drafted(local, prompts),
                             **{f"concurrency_{n}": (lambda n=n: drafted(servers[n], prompts)) for n in (1, 16)}},
                            runs=ctx.runs, warmup=ctx.warmup)
    samples["concurrency_4"] = samples["served"]
    rates = {n: summary([s["requests_per_second"] for s in samples[f"concurrency_{n}"]]) for n in CONCURRENCY}
    tokens = {name: summary([s["tokens"] / s["seconds"] for s in runs]) for name, runs in samples.items()}
    return Result(
        "B8", "serving",
        f"seconds per drafted token through transformers serve on loopback (concurrency 4) ÷ in-process "
        f"({len(prompts)} sections, up to {settings.max_new_tokens} tokens each)",
        samples=ratios(samples["served"], samples["in_process"], "seconds_per_token"),
        details={"sections": len(prompts), "max_new_tokens": settings.max_new_tokens,
                 "requests_per_second": rates, "tokens_per_second": tokens,
                 "runs": {name: runs for name, runs in samples.items() if name != "concurrency_4"}},
        lines=[f"in-process {tokens['in_process']['median']:.0f} tok/s, served {tokens['served']['median']:.0f} tok/s "
               f"(medians)",
               "requests/s through the server: " + ", ".join(
                   f"concurrency {n}: {rates[n]['median']:.2f}" for n in CONCURRENCY)],
    )
