"""Every test below this folder is marked `monorepo`."""

from tests.support.markers import folder_marker

pytest_itemcollected = folder_marker("monorepo")
