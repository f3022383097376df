"""The workload graph IR: tensors (shape, dtype, role) and the ops that connect them.

A Graph is what every frontend (model zoo, HF config, ONNX, SCALE-Sim topology) produces and what
``archsim.workload.lower`` turns into a Trace. Ops are kept in topological order; each op names its
input and output tensors, so dependencies are implied by tensor producers.

Layouts: CNN activations are ``[N, C, H, W]``; conv weights ``[F, C/groups, R, S]``; linear layers
take ``[..., K]`` and a weight ``[K, N]``; batched matmuls take ``[G, M, K]`` and ``[G, K, N]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from archsim.errors import WorkloadError

#: Bytes per element of each dtype name the IR accepts.
DTYPE_BYTES = {"int8": 1, "uint8": 1, "fp8": 1, "int16": 2, "fp16": 2, "bf16": 2, "int32": 4, "fp32": 4}

#: Tensor roles: graph inputs, intermediate activations, parameters, and the decode-time KV cache.
ROLES = ("input", "activation", "weight", "kv_cache")


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of ``dtype`` (WorkloadError for unknown names)."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise WorkloadError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}") from None


@dataclass(frozen=True)
class Tensor:
    """A named tensor: ``shape`` in elements, ``dtype`` name and its ``role`` in the model."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str = "activation"

    @property
    def numel(self) -> int:
        """Number of elements (count)."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Size in bytes."""
        return self.numel * dtype_bytes(self.dtype)


@dataclass(frozen=True)
class Op:
    """One IR operator: ``kind`` (see ``archsim.workload.costs``), tensor names in/out, attributes.

    ``attrs['holds']`` may name weights the op keeps resident without reading them (idle MoE
    experts); lowering counts them in the op's ``params`` but not in its ``weight_bytes``.
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    layer: str = ""


@dataclass
class Graph:
    """A model as tensors and topologically ordered ops, plus provenance ``metadata``."""

    name: str
    tensors: dict[str, Tensor]
    ops: list[Op]
    phase: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    def tensor(self, name: str) -> Tensor:
        """The tensor called ``name`` (WorkloadError when the graph has none)."""
        try:
            return self.tensors[name]
        except KeyError:
            raise WorkloadError(f"graph {self.name!r} has no tensor {name!r}") from None

    @property
    def param_count(self) -> int:
        """Number of parameters: elements of all weight tensors (count)."""
        return sum(t.numel for t in self.tensors.values() if t.role == "weight")

    def validate(self) -> Graph:
        """Check that every op input exists and is produced before use; returns self."""
        available = {n for n, t in self.tensors.items() if t.role != "activation"}
        for op in self.ops:
            for name in op.inputs:
                if name not in self.tensors:
                    raise WorkloadError(f"graph {self.name!r}: op {op.name!r} reads unknown tensor {name!r}")
                if name not in available:
                    raise WorkloadError(f"graph {self.name!r}: op {op.name!r} reads {name!r} before it is produced")
            for name in op.outputs:
                if name not in self.tensors:
                    raise WorkloadError(f"graph {self.name!r}: op {op.name!r} writes unknown tensor {name!r}")
                available.add(name)
        return self
