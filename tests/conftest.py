import os
import sys

import matplotlib
import pytest

matplotlib.use("Agg")
sys.path.insert(0, os.path.dirname(__file__))  # test oracles such as exact_gaussian.py


@pytest.fixture
def fresh_registry(monkeypatch):
    """A clean plugin registry per test, built-ins only (entry points off)."""
    from markovphase import plugins

    monkeypatch.setenv(plugins.DISABLE_ENV, "1")
    plugins.reset()
    yield
    plugins.reset()
