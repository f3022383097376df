"""Typed, located access to a model-config mapping: every bad key names file, key path and expectation."""
from __future__ import annotations

from typing import Any, Mapping

from archsim.errors import ConfigError

_MISSING = object()


class ConfigView:
    """Read typed values from ``data`` (a model config loaded from ``source``)."""

    def __init__(self, data: Mapping[str, Any], source: str, prefix: str = ""):
        self.data = data
        self.source = source
        self.prefix = prefix

    def path(self, key: str) -> str:
        """Dotted key path of ``key`` inside the file."""
        return f"{self.prefix}.{key}" if self.prefix else key

    def has(self, key: str) -> bool:
        """True when ``key`` is present and not null."""
        return self.data.get(key) is not None

    def _raw(self, key: str, default: Any, expected: str) -> Any:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                raise ConfigError(self.source, self.path(key), "required key is missing", expected=expected)
            return default
        return value

    def int(self, key: str, default: Any = _MISSING, minimum: int = 1) -> int:
        """Integer ``key`` ≥ ``minimum``."""
        expected = f"an integer >= {minimum}"
        value = self._raw(key, default, expected)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(self.source, self.path(key), "bad value", value=value, has_value=True,
                              expected=expected)
        return value

    def float(self, key: str, default: Any = _MISSING) -> float:
        """Positive number ``key``."""
        value = self._raw(key, default, "a number > 0")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(self.source, self.path(key), "bad value", value=value, has_value=True,
                              expected="a number > 0")
        return float(value)

    def str(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] | None = None) -> str:
        """String ``key`` (one of ``choices`` when given)."""
        expected = f"one of {', '.join(choices)}" if choices else "a string"
        value = self._raw(key, default, expected)
        if not isinstance(value, str) or (choices and value not in choices):
            raise ConfigError(self.source, self.path(key), "bad value", value=value, has_value=True,
                              expected=expected)
        return value

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        """Boolean ``key``."""
        value = self._raw(key, default, "true or false")
        if not isinstance(value, bool):
            raise ConfigError(self.source, self.path(key), "bad value", value=value, has_value=True,
                              expected="true or false")
        return value

    def int_list(self, key: str, default: Any = _MISSING, minimum: int = 1) -> list[int]:
        """List of integers ≥ ``minimum``."""
        expected = f"a list of integers >= {minimum}"
        value = self._raw(key, default, expected)
        if not isinstance(value, list) or not value or any(
                isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in value):
            raise ConfigError(self.source, self.path(key), "bad value", value=value, has_value=True,
                              expected=expected)
        return value

    def list(self, key: str, default: Any = _MISSING) -> list[Any]:
        """Non-empty list ``key``."""
        value = self._raw(key, default, "a non-empty list")
        if not isinstance(value, list) or not value:
            raise ConfigError(self.source, self.path(key), "bad value", value=value, has_value=True,
                              expected="a non-empty list")
        return value

    def child(self, key: str, value: Mapping[str, Any]) -> ConfigView:
        """A view of the nested mapping ``value`` found at ``key``."""
        if not isinstance(value, Mapping):
            raise ConfigError(self.source, self.path(key), "bad value", value=value, has_value=True,
                              expected="a mapping")
        return ConfigView(value, self.source, self.path(key))

    def error(self, key: str, problem: str, expected: str | None = None, value: Any = _MISSING) -> ConfigError:
        """A ConfigError located at ``key``."""
        if value is _MISSING:
            return ConfigError(self.source, self.path(key), problem, expected=expected)
        return ConfigError(self.source, self.path(key), problem, value=value, has_value=True, expected=expected)
