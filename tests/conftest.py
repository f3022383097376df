"""Shared fixtures: paths to the repository's shipped files."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def arch_dir() -> Path:
    return REPO / "arch_configs"
