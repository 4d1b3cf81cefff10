"""The skips CI accepts: tests/allowed_skips.txt. With ``CI`` set in the environment (CI services
set it, and so does .ci/run), a skip that no entry allows fails the run (tests/conftest.py)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

ALLOWED_SKIPS = Path(__file__).with_name("allowed_skips.txt")


def read_allowed(path: Path = ALLOWED_SKIPS) -> list[tuple[str, str]]:
    """(test id glob, reason substring) per ``GLOB | REASON`` line; blank lines and lines starting
    with ``#`` are skipped.

    Raises:
      ValueError: a line without both parts, naming the file and line.
    """
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, _, reason = (part.strip() for part in line.partition("|"))
        if not pattern or not reason:
            raise ValueError(f"{path}:{number}: expected 'TEST-ID-GLOB | REASON', got {line.strip()!r}")
        entries.append((pattern, reason))
    return entries


def unexpected_skips(skips: list[tuple[str, str]], allowed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (test id, reason) skips that no (glob, reason substring) entry of ``allowed`` matches."""
    return [(test, reason) for test, reason in skips
            if not any(fnmatchcase(test, pattern) and text in reason for pattern, text in allowed)]  # fmt: skip
