"""Result -> tables and files: writers and the text summary ``archsim run`` prints.

Names load on first use (PEP 562), so that the command line's parser (``archsim.report.cli``,
``archsim.report.compare``) imports no pandas.
"""
_LAZY = {"write_result": "archsim.report.writers", "format_summary": "archsim.report.summary"}

__all__ = ["format_summary", "write_result"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
