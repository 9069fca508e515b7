"""Every test below this folder is marked `shared`."""

from tests.support.markers import folder_marker

pytest_itemcollected = folder_marker("shared")
