"""Shared fixtures: paths to the repository's shipped files (and ``experiments`` importable as a package)."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def arch_dir() -> Path:
    return REPO / "arch_configs"
