"""Every test below this folder is marked `cli`."""

from tests.support.markers import folder_marker

pytest_itemcollected = folder_marker("cli")
