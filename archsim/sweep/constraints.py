"""Constraint expressions of a sweep (``engines.npu.rows * engines.npu.cols <= 16384``), evaluated safely.

An expression may use numbers, ``+ - * / // % **``, comparisons, ``and``/``or``/``not``, ``min``/``max``/
``abs``, and names: a dotted architecture key (looked up in the point's resolved config) or the last
part of a swept key when that is unambiguous (``rows`` for ``engines.npu.rows``). Anything else is a
ConfigError at load time, not a surprise per point.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Mapping

from archsim.errors import ConfigError

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}
_FUNCS = {"min": min, "max": max, "abs": abs}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _check(node: ast.AST, source: str, where: str) -> None:
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Constant, ast.Name,
               ast.Attribute, ast.Call, ast.Load, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
               *_BINOPS, *_CMPOPS)
    for sub in ast.walk(node):
        if not isinstance(sub, allowed):
            raise ConfigError(source, where, f"constraint uses unsupported syntax {type(sub).__name__}",
                              expected="arithmetic, comparisons, and/or/not, min/max/abs over dotted keys")
        if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in _FUNCS):
            raise ConfigError(source, where, "constraint calls an unsupported function",
                              expected=f"one of {sorted(_FUNCS)}")
        if isinstance(sub, ast.Attribute) and _dotted(sub) is None:
            raise ConfigError(source, where, "constraint has an attribute that is not a dotted key")


class Constraint:
    """One parsed constraint; ``holds(config, swept)`` evaluates it for a point."""

    def __init__(self, text: str, swept_keys: tuple[str, ...], source: str = "<sweep>", where: str = "constraints"):
        self.text = text
        self.where = where
        self.source = source
        try:
            self._tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise ConfigError(source, where, f"constraint is not a valid expression: {exc.msg}", value=text,
                              has_value=True) from None
        _check(self._tree, source, where)
        short: dict[str, list[str]] = {}
        for key in swept_keys:
            short.setdefault(key.rsplit(".", 1)[-1], []).append(key)
        self._aliases = {k: v[0] for k, v in short.items() if len(v) == 1}

    def _lookup(self, name: str, config: Mapping[str, Any]) -> Any:
        key = self._aliases.get(name, name) if "." not in name else name
        node: Any = config
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ConfigError(self.source, self.where, f"constraint {self.text!r} names {name!r}, which is "
                                  f"not a key of the architecture nor a swept key")
            node = node[part]
        return node

    def _eval(self, node: ast.AST, config: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Expression):
            return self._eval(node.body, config)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self._lookup(_dotted(node), config)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self._eval(node.left, config), self._eval(node.right, config))
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, config)
            return -value if isinstance(node.op, ast.USub) else (+value if isinstance(node.op, ast.UAdd) else not value)
        if isinstance(node, ast.BoolOp):
            values = [self._eval(v, config) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, config)
            for op, comp in zip(node.ops, node.comparators):
                right = self._eval(comp, config)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call):
            return _FUNCS[node.func.id](*(self._eval(a, config) for a in node.args))
        raise AssertionError(type(node))

    def holds(self, config: Mapping[str, Any]) -> bool:
        """True when the constraint is satisfied by the point's resolved architecture ``config``."""
        return bool(self._eval(self._tree, config))
