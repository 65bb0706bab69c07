"""Pipeline fixtures; the builders themselves live in helpers.py (importable from any test module)."""

from __future__ import annotations

import pytest

from .helpers import make_pair


@pytest.fixture
def pair_factory():
    return make_pair
