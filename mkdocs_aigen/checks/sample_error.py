"""The published text of a failed run: what went wrong, never what the sample read.

The sample runs in the child's process, so whatever the child reports may be forged; the rule is
therefore applied here, on the parent's side, to the reported exception:

* ``SystemExit`` publishes only the exit status -- its argument is whatever the sample chose;
* otherwise ``Type: message (line N)``, where the message is at most ``MESSAGE_MAX_CHARS``
  characters of one line, absolute paths become ``<path>``, and every word that is neither in the
  sample's own source (which the page shows anyway), nor in Python's error vocabulary, nor a
  number of at most four digits becomes ``…``. The type name is published when it passes the same
  test or is a CamelCase class name ending in ``Error``, ``Exception`` or ``Warning`` (at most 40
  characters, e.g. ``sqlite3``'s ``OperationalError``); otherwise as ``Exception``.

So ``raise ValueError(open('/etc/passwd').readline())`` reads ``ValueError: …:…:0:0:…:<path>:<path>``
while ``print(totl)`` still reads ``NameError: name 'totl' is not defined (line 2)``.
"""

from __future__ import annotations

import builtins
import keyword
import re

from mkdocs_aigen.checks.sandbox import SampleFailure

MESSAGE_MAX_CHARS = 80
_PATH = re.compile(r"(?<![\w)\]])/[\w.@+~-]+(?:/[\w.@+~-]*)*")
_PATH_MARK = "\0"
_WORD = re.compile(r"[^\W\d]\w*|\d+")
_ERROR_CLASS = re.compile(r"[A-Z][A-Za-z0-9]{0,30}(?:Error|Exception|Warning)")
_PYTHON_MESSAGES = """
name is not defined free variable referenced before assignment in enclosing scope cannot access local
where it associated with a value object has no attribute module type partially initialized most
likely due to circular import takes positional arguments but were given missing required keyword
argument got an unexpected multiple values for unsupported operand types can only concatenate must
be real number callable subscriptable iterable iterator does support item assignment deletion
division by zero integer float modulo list tuple string index out of range invalid literal with
base could convert too many unpack expected not enough No named unknown location maximum recursion
depth exceeded while calling Python comparison Did you mean math domain error key found dictionary
changed size during iteration generator already executing pop from empty set dict substring
argument syntax decode encode codec byte position ordinal start continuation unexpected end data
timed out Permission denied Read only file system No such file or directory File exists Is Not
directory Operation permitted Function implemented Network unreachable Connection refused Temporary
failure resolution Name Resource temporarily unavailable Cannot allocate memory sandbox blocked
outside the private world readable handles processes signals network access symbol lookups calls
memory native code from and of an at least most keyword only instance instances between supported
Errno SandboxViolation unable database disk locked
"""
_VOCABULARY = frozenset(_PYTHON_MESSAGES.split()) | frozenset(dir(builtins)) | frozenset(keyword.kwlist)


def public_error(failure: SampleFailure, source: str) -> str:
    """The one line a reader may see for ``failure`` of the sample ``source`` (see module doc)."""
    known = _VOCABULARY | set(_WORD.findall(source))
    line = f" (line {failure.line})" if failure.line and 0 < failure.line <= source.count("\n") + 1 else ""
    if failure.type_name == "SystemExit":
        status = failure.exit_code if failure.exit_code is not None else 1
        return f"SystemExit: exit status {status}{line}"
    public_type = failure.type_name in known or _ERROR_CLASS.fullmatch(failure.type_name)
    type_name = failure.type_name if failure.type_name.isidentifier() and public_type else "Exception"
    message = _public_message(failure.message, known)
    return f"{type_name}: {message}{line}" if message else f"{type_name}{line}"


def _public_message(message: str, known: set[str] | frozenset[str]) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in message).split())
    text = _PATH.sub(_PATH_MARK, text)
    text = _WORD.sub(lambda word: word[0] if _is_public(word[0], known) else "…", text)
    text = text.replace(_PATH_MARK, "<path>")
    return text if len(text) <= MESSAGE_MAX_CHARS else text[: MESSAGE_MAX_CHARS - 1] + "…"


def _is_public(word: str, known: set[str] | frozenset[str]) -> bool:
    return word in known or (word.isdigit() and len(word) <= 4)
