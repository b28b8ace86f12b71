"""Byte ranges of a blob (RFC 9110, section 14): what a media element needs to seek.

A browser's ``<audio>`` seeks in a file only when its server answers ``Range`` requests: without
them the file is "not seekable" and every seek lands at 0. One range is served (``bytes=a-b``,
``bytes=a-``, ``bytes=-n``) as 206 with ``Content-Range``; anything else (several ranges, another
unit, a malformed or unsatisfiable range) is ignored, as the RFC allows, and the whole file is
served (200).
"""

from __future__ import annotations

import re

# At most 18 digits a side: any file fits, and int() of a longer run of digits is refused
# (Python limits int() of long strings) or slow.
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range (first byte, last byte, inclusive) of ``size`` bytes that ``header`` asks
    for, or None to serve the whole."""
    if header is None or size == 0:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None:
        return None
    first, last = found.groups()
    if not first:
        if not last or int(last) == 0:
            return None
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end
