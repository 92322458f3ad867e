"""Fixtures of the config tests."""

import pytest

from config.embedded_redis import EmbeddedRedis, free_port


@pytest.fixture
def server(tmp_path):
    """An embedded Redis Stack of its own, not started (each test starts it), stopped after."""
    instance = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "redis")
    yield instance
    instance.stop(save=False)
