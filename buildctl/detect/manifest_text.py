"""What a Cargo.toml's text says before it is parsed: its `name` strings, its `path` strings,
its words; and whether the text means what it says.

Each is found by a rule that holds for any TOML (see `lazyws`): a key written bare or quoted,
alone or last in a dotted key, set to a one-line string. A text with an escape or a multi-line
string may mean something else than it reads: such a manifest is parsed instead.
"""

from __future__ import annotations

import re

# What may come before a key (or before its quote) is checked by looking behind the key: a
# pattern that starts with its word is found several times faster than one that starts with a
# choice, and one pattern per key runs faster than one for both.
_NOT_BEFORE = rb"[^ \t\n\r\f\v{,.]"  # anything but what may come before a key
_VALUE = rb"""["']?[ \t]*=[ \t]*["']((?<=")[^"\n]*(?=")|(?<=')[^'\n]*(?='))"""


def _key(key: bytes) -> re.Pattern[bytes]:
    before = rb"(?:(?<!%s%s)|(?<=[\"']%s)(?<!%s[\"']%s))" % (_NOT_BEFORE, key, key, _NOT_BEFORE, key)
    return re.compile(key + before + _VALUE)


names = _key(b"name").findall  # the `name` strings (bytes), in order
paths = _key(b"path").findall  # the `path` strings (bytes), in order
# A whole key is one word: bounded by quotes, spaces, `=`, `.`, brackets.
WORD = re.compile(rb"[^\s\"'=.,{}\[\]#]+")


def plain(text: bytes) -> bool:
    """No escape and no multi-line string: the text means what it reads."""
    return b"\\" not in text and b'"""' not in text and b"'''" not in text
