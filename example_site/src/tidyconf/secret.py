"""`Secret`: a string that keeps itself out of logs, reprs and dumps."""

from __future__ import annotations


class Secret:
    """A string that hides itself.

    ``repr()`` and ``str()`` return ``Secret('***')`` and ``***``, and `dump()` writes
    ``"***"``. Use it as a field annotation: validation wraps string values automatically.
    Two secrets compare equal when their values are equal.

    Args:
        value: The real value.

    Raises:
        TypeError: If `value` is not a string.

    Examples:
        >>> import tidyconf
        >>> token = tidyconf.Secret("s3cr3t")
        >>> token, str(token), token.reveal()
        (Secret('***'), '***', 's3cr3t')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret() takes a string, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """Return the real value.

        Returns:
            The string the secret was made from.

        Examples:
            >>> import tidyconf
            >>> tidyconf.Secret("hunter2").reveal()
            'hunter2'
        """
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))
