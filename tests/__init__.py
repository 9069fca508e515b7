import pytest

# Before any support module is imported: their asserts (`refused`, `assert_no_token`...) then
# report the values that failed, and the secret-scan plugin (tests/conftest.py loads it) is not
# imported ahead of pytest's own import of it.
pytest.register_assert_rewrite("tests.support")
