"""The schema the getting-started page builds, plus the secrets and constraints other pages use."""

from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

import tidyconf


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Pool:
    min_size: int = 1
    max_size: int = 10

    def __post_init__(self) -> None:
        if self.min_size > self.max_size:
            raise ValueError("min_size must not be larger than max_size")


@dataclass(frozen=True)
class Database:
    url: str
    pool_size: int = 5
    timeout_seconds: float = 10.0
    pool: Pool = field(default_factory=Pool)


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: Annotated[int, tidyconf.Range(1, 65535)] = 8000
    hostname: Annotated[str, tidyconf.Pattern(r"[a-z0-9.-]+")] = "localhost"


@dataclass(frozen=True)
class Payments:
    api_key: tidyconf.Secret
    endpoint: str = "https://payments.example.com"


@dataclass(frozen=True)
class Cache:
    directory: Path = Path("/var/cache/shop")
    ttl: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class AppConfig:
    database: Database
    server: Server = field(default_factory=Server)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    debug: bool = False
    allowed_hosts: list[str] = field(default_factory=list)
    retry_delays: tuple[int, ...] = ()
    servers: dict[str, Server] = field(default_factory=dict)
    cache: Cache = field(default_factory=Cache)
    payments: Payments | None = None
    color: Color = Color.RED
