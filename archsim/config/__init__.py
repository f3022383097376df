"""Architecture configuration: YAML schema, ``extends:`` inheritance, dotted-key overrides, validation."""
from archsim.config.loader import Arch, apply_overrides, build_arch, load_arch, parse_override

__all__ = ["Arch", "apply_overrides", "build_arch", "load_arch", "parse_override"]
