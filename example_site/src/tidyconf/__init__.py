"""tidyconf: layered, typed configuration for Python applications.

Load TOML, YAML and JSON files and environment variables, merge them in a predictable
order, and turn the result into validated dataclasses, knowing which layer supplied
every value.

Examples:
    >>> from dataclasses import dataclass
    >>> import tidyconf
    >>> @dataclass(frozen=True)
    ... class AppConfig:
    ...     debug: bool = False
    >>> tidyconf.load({"debug": "yes"}, schema=AppConfig)
    AppConfig(debug=True)
"""

from tidyconf.cache import clear_cache
from tidyconf.constraints import Pattern, Range
from tidyconf.env import env_layer
from tidyconf.errors import (
    MISSING,
    FieldError,
    MergeError,
    ParseError,
    SourceNotFoundError,
    TidyconfError,
    ValidationError,
)
from tidyconf.layers import Layer, dict_layer, file_layer
from tidyconf.loader import load
from tidyconf.merging import Merged, merge
from tidyconf.secret import Secret
from tidyconf.serialize import dump
from tidyconf.validation import validate

__version__ = "0.6.0"

__all__ = [
    "MISSING",
    "FieldError",
    "Layer",
    "MergeError",
    "Merged",
    "ParseError",
    "Pattern",
    "Range",
    "Secret",
    "SourceNotFoundError",
    "TidyconfError",
    "ValidationError",
    "__version__",
    "clear_cache",
    "dict_layer",
    "dump",
    "env_layer",
    "file_layer",
    "load",
    "merge",
    "validate",
]
