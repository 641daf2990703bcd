"""The App's test key, shared with tests/service."""

from tests.service.conftest import private_key_pem  # noqa: F401
