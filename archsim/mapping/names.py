"""Names of the mappers, importable without loading them (for the command line's ``--mapper`` choices).

``archsim.mapping.MAPPERS`` holds the functions under exactly these names (a test keeps the two equal)."""
from __future__ import annotations

MAPPER_NAMES = ("partition", "by_kind", "cosma", "cosma_dc", "belady", "lru", "flightllm", "rdu_fusion")
#: Mappers that plan a scratchpad (take ``capacity_bytes`` and ``include_weights``).
PLANNING_MAPPERS = ("cosma", "cosma_dc", "belady", "lru")
#: Mappers that solve an ILP within ``time_limit_s`` seconds (model building included).
ILP_MAPPERS = ("cosma", "cosma_dc")
#: Compiler mappers: they emit a Program for an engine kind that runs nothing else (``archsim.mapping.compiled``).
COMPILER_MAPPERS = ("flightllm", "rdu_fusion")
