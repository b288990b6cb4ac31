"""The ``openai`` backend: drafts through an OpenAI-compatible server (vLLM, ``transformers serve``,
llama.cpp's server, Ollama) with the ``openai`` client, which retries connection errors, timeouts, 429
and 5xx answers with exponential backoff and jitter.

The cache key holds ``served_model`` and ``model_revision``, never the server's address or API key,
and is computed without contacting the server: a warm or ``cache-only`` build never needs it. The
server is first contacted when a section must be drafted; it must then list ``served_model`` in
``GET /models``, so the model id in the key is the one the server runs.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable
from urllib.parse import urlsplit

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.ml.backends.stopping import close_fences, cut_at_stop
from mkdocs_aigen.ml.decoding import (
    DecodingSettings,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
)
from mkdocs_aigen.ml.stops import open_fence

SERVER_APIS = ("completions", "chat")
"""``completions``: the Markdown prompt as it is; ``chat``: the prompt as a user message (chat-only servers)."""
CHAT_INSTRUCTION = "Continue the Markdown document the user sends. Reply with the continuation only."
REQUESTS_PER_WORKER = 4
"""Sections drafted together per concurrent request: keeps every worker busy, bounds work lost to a failure."""
_MAX_STOP_SEQUENCES = 4  # the OpenAI API's limit
_MESSAGE_CHARS = 200


class ServerError(AigenError):
    """The server is down, refused a request, timed out, or answered something that is not a draft."""


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine (``localhost`` or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerSettings:
    """Where the server is, which model it serves, and how to talk to it. Holds no secret: the API key
    is read from the environment variable ``api_key_env`` names, when a request is made."""

    base_url: str | None
    served_model: str | None
    api: str = SERVER_APIS[0]
    concurrency: int = 4
    request_timeout: float = 120.0
    request_retries: int = 4
    api_key_env: str | None = None
    model_revision: str | None = None
    allow_remote: bool = False

    def __post_init__(self) -> None:
        url = urlsplit(self.base_url or "")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"base_url: backend: openai needs the server's http(s) URL, e.g. "
                             f"http://127.0.0.1:8000/v1 (got {self.base_url!r})")
        if not self.allow_remote and not is_loopback(self.base_url):
            raise ValueError(f"base_url: {url.hostname} is not this machine, and drafting sends your pages' text "
                             f"to it; set allow_remote: true to allow that")
        if not self.served_model:
            raise ValueError("served_model: backend: openai needs the model id the server lists at GET /v1/models")
        if self.api not in SERVER_APIS:
            raise ValueError(f"api: use one of {', '.join(SERVER_APIS)}, not {self.api!r}")
        if self.concurrency < 1:
            raise ValueError("concurrency: must be >= 1")
        if self.request_timeout <= 0:
            raise ValueError("request_timeout: must be > 0 (seconds)")
        if self.request_retries < 0:
            raise ValueError("request_retries: must be >= 0")


class OpenAIBackend:
    """An OpenAI-compatible server: its identity is the served model and its revision (no request)."""

    def __init__(self, server: ServerSettings, decoding: DecodingSettings) -> None:
        self.server, self.decoding = server, decoding

    @property
    def chunk_size(self) -> int:
        return REQUESTS_PER_WORKER * self.server.concurrency

    def identity(self) -> dict[str, Any]:
        s = self.server
        return {"backend": "openai", "model": s.served_model, "revision": s.model_revision, "api": s.api}

    def describe(self) -> str:
        return f"{self.server.served_model} served at {self.server.base_url}"

    @cached_property
    def generator(self) -> ServerGenerator:
        return ServerGenerator(self.server, self.decoding)


class ServerGenerator:
    """Sends each request to the server (``concurrency`` at a time) and applies the stop rules to the
    answers; a failure after the client's retries raises :class:`ServerError` in one line."""

    def __init__(self, server: ServerSettings, settings: DecodingSettings) -> None:
        self.server, self.settings = server, settings
        self.client = self._connect()
        served = [model.id for model in self._call(self.client.models.list).data]
        if server.served_model not in served:
            raise self._error(f"serves {', '.join(served) or 'no model'}, not served_model {server.served_model}")

    def _connect(self) -> Any:
        try:
            import openai
        except ImportError:
            raise ServerError("backend: openai needs the openai package: pip install 'mkdocs-aigen[serve]'") from None
        s = self.server
        key = "unused"  # servers without authentication ignore it; the client insists on one
        if s.api_key_env:
            key = os.environ.get(s.api_key_env, "")
            if not key:
                raise ServerError(f"api_key_env: the environment variable {s.api_key_env} is not set")
        return openai.OpenAI(base_url=s.base_url, api_key=key, timeout=s.request_timeout,
                             max_retries=s.request_retries)

    def generate(self, requests: Sequence[GenerationRequest],
                 progress: ProgressCallback | None = None) -> list[GenerationResult]:
        """Continuations of ``requests``, in request order; ``progress`` also gets ``in_flight``.

        A request's ``names`` are ignored: a completions API cannot mask tokens by text, so served drafts
        rely on the fact check after drafting (:mod:`mkdocs_aigen.grounding.facts`)."""
        results: list[GenerationResult | None] = [None] * len(requests)
        done = tokens = 0
        pool = ThreadPoolExecutor(max_workers=self.server.concurrency, thread_name_prefix="aigen-openai")
        try:
            futures = {pool.submit(self._complete, request): index for index, request in enumerate(requests)}
            for future in as_completed(futures):
                result = results[futures[future]] = future.result()
                done += 1
                tokens += result.new_tokens
                if progress is not None:
                    progress(done, tokens, in_flight=min(self.server.concurrency, len(requests) - done))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return results  # type: ignore[return-value]

    def _complete(self, request: GenerationRequest) -> GenerationResult:
        """One request: the server's text, cut at the request's stop whether or not the server stopped."""
        s = self.server
        fence = open_fence(request.prompt)
        params: dict[str, Any] = {"model": s.served_model, "seed": request.seed,
                                  "max_tokens": request.max_new_tokens or self.settings.max_new_tokens,
                                  "temperature": self.settings.temperature, "top_p": self.settings.top_p}
        stops = stop_sequences(request, fence)
        if stops:
            params["stop"] = stops
        if s.api == "chat":
            messages = [{"role": "system", "content": CHAT_INSTRUCTION}, {"role": "user", "content": request.prompt}]
            response = self._call(self.client.chat.completions.create, messages=messages, **params)
        else:
            response = self._call(self.client.completions.create, prompt=request.prompt, **params)
        try:
            choice = response.choices[0]
            text = choice.message.content if s.api == "chat" else choice.text
            if not isinstance(text, str):
                raise TypeError(type(text).__name__)
            new_tokens = int(response.usage.completion_tokens) if response.usage else 0
        except (AttributeError, IndexError, TypeError, ValueError) as error:
            raise self._error(f"answered a {s.api} response without text ({_one_line(error)})") from None
        stop = cut_at_stop(request, text, fence)
        text, stopped = stop or (text, "length" if choice.finish_reason == "length" else "eos")
        return GenerationResult(close_fences(request, text, fence), new_tokens, stopped)

    def _call(self, method: Callable[..., Any], **params: Any) -> Any:
        """``method(**params)`` with the client's retries; its failures become one-line :class:`ServerError` s."""
        import openai

        retries = f"after {self.server.request_retries} retries"
        try:
            return method(**params)
        except openai.APITimeoutError:
            raise self._error(f"no answer within request_timeout ({self.server.request_timeout:g} s), "
                              f"{retries}") from None
        except openai.APIConnectionError as error:
            raise self._error(f"connection failed ({_one_line(error.__cause__ or error)}), {retries}; "
                              f"is the server running?") from None
        except openai.APIStatusError as error:
            body = error.body if isinstance(error.body, dict) else {}
            detail = body.get("message") or body.get("detail") or error.message
            again = f", {retries}" if error.status_code == 429 or error.status_code >= 500 else ""
            raise self._error(f"answered HTTP {error.status_code} ({_one_line(detail)}){again}") from None
        except (openai.OpenAIError, ValueError) as error:  # e.g. a body that is not JSON
            raise self._error(f"answered garbage ({_one_line(error)})") from None

    def _error(self, what: str) -> ServerError:
        return ServerError(f"backend openai at {self.server.base_url}: {what}")


def stop_sequences(request: GenerationRequest, fence: str | None) -> list[str]:
    """Stop strings that end generation early on the server (the text is cut by the stop rules anyway):
    the closing fence in fence mode, else line-initial headings up to the stop level (at most four)."""
    if request.stop_at_fence:
        return ["\n" + (fence or "```")]
    if request.stop_heading_level is None or fence:
        return []
    return ["\n" + "#" * level + " " for level in range(1, min(request.stop_heading_level, _MAX_STOP_SEQUENCES) + 1)]


def _one_line(error: object) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"
