"""Path globs: each one is refused or compiles and matches, whatever its text."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from buildctl import config, globs
from tests.support.strategies import PARSER_EXAMPLES, only_buildctl_errors


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(
    st.lists(
        st.text(max_size=12) | st.sampled_from(["**", "[!a]", "[]", "{a,", "a/**/b", "\\", "[\\]"]),
        min_size=1,
        max_size=3,
    ),
    st.text(max_size=20),
)
def test_globs_are_refused_or_compile_and_match(patterns: list[str], path: str) -> None:
    problems = [globs.validate(p) for p in patterns]
    if all(p is None for p in problems):
        matched = globs.GlobSet.of(patterns).match(path)
        assert matched is None or matched in patterns
    map_text = "[rules]\nignore = " + json.dumps(patterns) + "\n"
    only_buildctl_errors(lambda: config.parse_map(map_text, "workspace-map.toml"))
