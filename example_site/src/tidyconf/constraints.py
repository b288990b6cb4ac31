"""`Annotated` markers that constrain a field beyond its type: `Range` and `Pattern`."""

import re
from typing import Any


class Range:
    """`Annotated` marker that checks inclusive bounds.

    For numbers the value itself is checked; for strings, lists, tuples and dicts, their
    length.

    Args:
        min: The smallest allowed value (or length), or `None` for no lower bound.
        max: The largest allowed value (or length), or `None` for no upper bound.

    Examples:
        >>> from typing import Annotated
        >>> from dataclasses import dataclass
        >>> import tidyconf
        >>> @dataclass
        ... class Server:
        ...     port: Annotated[int, tidyconf.Range(1, 65535)] = 8000
        >>> tidyconf.validate({"port": "8080"}, Server).port
        8080
    """

    def __init__(self, min: float | None = None, max: float | None = None) -> None:
        self.min = min
        self.max = max

    def __repr__(self) -> str:
        return f"Range(min={self.min!r}, max={self.max!r})"

    def problem(self, value: Any) -> str | None:
        """Say what is wrong with `value`, if anything.

        Args:
            value: An already converted value.

        Returns:
            A message such as ``"must be at most 65535, got 70000"``, or `None` when the
            value is within bounds.

        Examples:
            >>> from tidyconf import Range
            >>> Range(1, 65535).problem(70000)
            'must be at most 65535, got 70000'
            >>> Range(max=3).problem("abcd")
            'length must be at most 3, got 4'
        """
        sized = isinstance(value, (str, list, tuple, dict))
        measured = len(value) if sized else value
        what = "length must be" if sized else "must be"
        if self.min is not None and measured < self.min:
            return f"{what} at least {self.min}, got {measured!r}"
        if self.max is not None and measured > self.max:
            return f"{what} at most {self.max}, got {measured!r}"
        return None


class Pattern:
    """`Annotated` marker that requires a string to match `regex` completely.

    Matching works as with `re.fullmatch`.

    Args:
        regex: The regular expression.
        flags: Flags for `re.compile`, such as `re.IGNORECASE`.

    Raises:
        re.error: If `regex` is not a valid regular expression.

    Examples:
        >>> import tidyconf
        >>> tidyconf.Pattern(r"[a-z0-9.-]+").problem("Shop.example.com")
        "must match '[a-z0-9.-]+', got 'Shop.example.com'"
    """

    def __init__(self, regex: str, flags: int = 0) -> None:
        self.regex = regex
        self.flags = flags
        self._compiled = re.compile(regex, flags)

    def __repr__(self) -> str:
        return f"Pattern({self.regex!r})"

    def problem(self, value: str) -> str | None:
        """Say whether `value` fails to match.

        Args:
            value: An already converted string.

        Returns:
            A message naming the pattern, or `None` when the whole string matches.

        Examples:
            >>> import tidyconf
            >>> tidyconf.Pattern(r"\\d+").problem("123") is None
            True
        """
        if self._compiled.fullmatch(value):
            return None
        return f"must match {self.regex!r}, got {value!r}"
