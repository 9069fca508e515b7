"""Every test below this folder is marked `detect`."""

from tests.support.markers import folder_marker

pytest_itemcollected = folder_marker("detect")
