"""Regrouping convolutions for data reuse (DRACO, Jha et al., ISVLSI 2020; its companion E2GC, arXiv 2006.15100):
a pass on the Graph IR that changes how convolutions are grouped, never their output shapes.

* ``dw_group_size = g``: every depthwise convolution (one input channel per filter, groups = C = F) becomes a
  grouped convolution of C/g groups with g input channels per filter (E2GC's constant group size). Each
  filter now reads g channels: MACs and weights of the layer grow by g, and every input word is used by g
  filters instead of one — the data reuse a bandwidth-bound array lacks on depthwise layers.
* ``pw_groups = n``: every pointwise (1 x 1, ungrouped) convolution becomes n groups (ShuffleNet-style
  grouped 1 x 1): its MACs and weights shrink by n.

Both are run knobs (``--set dw_group_size=8 --set pw_groups=2``) and apply to any CNN in the zoo or an ONNX
file. Choosing ``g`` for an array takes simulating it (``experiments/draco.py`` picks the ``g`` of highest
average PE utilisation that does not slow the network down).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from archsim.errors import WorkloadError
from archsim.workload.graph import Graph, Tensor


@dataclass(frozen=True)
class RegroupedConv:
    """One convolution the pass changed: its name and groups before / after."""

    name: str
    groups_before: int
    groups_after: int


def _conv_dims(graph: Graph, op) -> tuple[int, int, int, int]:
    """(C, F, R, S) of a conv2d op, from its weight tensor [F, C/groups, R, S] and its input [N, C, H, W]."""
    f, _, r, s = graph.tensor(op.inputs[1]).shape
    c = graph.tensor(op.inputs[0]).shape[1]
    return c, f, r, s


def is_depthwise(graph: Graph, op) -> bool:
    """A conv2d with one input channel per filter and one filter per channel (groups = C = F > 1)."""
    if op.kind != "conv2d":
        return False
    c, f, _, _ = _conv_dims(graph, op)
    groups = op.attrs.get("groups", 1)
    return groups == c == f and c > 1


def is_pointwise(graph: Graph, op) -> bool:
    """An ungrouped 1 x 1 conv2d."""
    if op.kind != "conv2d":
        return False
    _, _, r, s = _conv_dims(graph, op)
    return (r, s) == (1, 1) and op.attrs.get("groups", 1) == 1


def regroup_convolutions(graph: Graph, dw_group_size: int = 1, pw_groups: int = 1
                         ) -> tuple[Graph, list[RegroupedConv]]:
    """The graph with depthwise convs grouped ``dw_group_size`` channels per group and pointwise convs split
    into ``pw_groups`` groups (module docstring), and the list of changed convs. WorkloadError when a group
    size does not divide a layer's channels."""
    if dw_group_size < 1 or pw_groups < 1:
        raise WorkloadError("dw_group_size and pw_groups must be >= 1")
    tensors = dict(graph.tensors)
    ops, changed = [], []
    for op in graph.ops:
        groups = op.attrs.get("groups", 1)
        new = groups
        if dw_group_size > 1 and is_depthwise(graph, op):
            c = _conv_dims(graph, op)[0]
            g = min(dw_group_size, c)
            if c % g:
                raise WorkloadError(f"{graph.name}: {op.name}: dw_group_size={dw_group_size} does not divide its "
                                    f"{c} channels")
            new = c // g
        elif pw_groups > 1 and is_pointwise(graph, op):
            c, f, _, _ = _conv_dims(graph, op)
            if c % pw_groups or f % pw_groups:
                raise WorkloadError(f"{graph.name}: {op.name}: pw_groups={pw_groups} does not divide its "
                                    f"{c} input and {f} output channels")
            new = pw_groups
        if new == groups:
            ops.append(op)
            continue
        c, f, r, s = _conv_dims(graph, op)
        weight = graph.tensor(op.inputs[1])
        tensors[weight.name] = Tensor(weight.name, (f, c // new, r, s), weight.dtype, weight.role)
        ops.append(replace(op, attrs={**op.attrs, "groups": new}))
        changed.append(RegroupedConv(op.name, groups, new))
    meta = dict(graph.metadata)
    if changed:
        meta["regrouped"] = f"dw_group_size={dw_group_size},pw_groups={pw_groups}"
    out = Graph(graph.name, tensors, ops, graph.phase, meta)
    return out.validate(), changed
