"""Markers by folder: a folder's conftest.py applies its marker to every test collected below it,
so no test file can forget it (and `pytest -m "not docker"` never picks an engine test)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def folder_marker(name: str) -> Callable[[pytest.Item], None]:
    """A `pytest_itemcollected` hook that marks each item `name`. pytest calls that hook only
    for the items below the conftest.py that defines it, so the hook needs no path check."""

    def pytest_itemcollected(item: pytest.Item) -> None:
        item.add_marker(name)

    return pytest_itemcollected
