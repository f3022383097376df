"""Where the shipped data lives: ``arch_configs/``, ``workloads/`` and ``experiments/``.

In a source checkout they are the top-level folders next to the ``archsim`` package; an installed wheel
carries copies inside the package, at ``archsim/_shipped/<name>`` (``setup.py`` copies them at build time).
"""
from __future__ import annotations

from pathlib import Path

SHIPPED = ("arch_configs", "workloads", "experiments")
PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_dir(name: str, package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder of shipped ``name`` (one of SHIPPED): the checkout's top-level one, else the installed copy."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not shipped data; one of {SHIPPED}")
    checkout = package_dir.parent / name
    if checkout.is_dir() and (package_dir.parent / "pyproject.toml").is_file():
        return checkout
    return package_dir / "_shipped" / name
