"""Explicit technology-node, supply-voltage and width scaling of table values.

Node and voltage: A. Stillmaker, B. Baas, "Scaling equations for the accurate prediction of CMOS
device performance from 180nm to 7nm", Integration 58 (2017) 74-81, as transcribed in the Accelergy
project's ``hwcomponents.scaling``:

* dynamic energy (and leakage power) at node N and supply V is ``a_N V^2 + b_N V + c_N``; a value
  measured at (N0, V0) becomes ``value * P_N1(V1) / P_N0(V0)`` at (N1, V1);
* area at node N relative to 45 nm is ``AREA_VS_45NM[N]``.

Between tabulated nodes both curves are interpolated linearly in nanometres; outside 7-130 nm scaling is
an error (no extrapolation). Width scaling: adders and registers linear in bits, multipliers quadratic.
"""
from __future__ import annotations

import bisect

# node (nm) -> (a, b, c) of a*V^2 + b*V + c
ENERGY_POLY: dict[float, tuple[float, float, float]] = {
    130: (7.171, -6.709, 2.904),
    90: (4.762, -4.781, 2.092),
    65: (3.755, -4.398, 1.975),
    45: (1.103, -0.362, 0.2767),
    32: (0.9559, -0.7823, 0.471),
    20: (0.373, -0.1582, 0.04104),
    16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239),
    10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}

# node (nm) -> area relative to the same design at 45 nm (row "45 nm" of the Stillmaker-Baas table)
AREA_VS_45NM: dict[float, float] = {
    130: 6.4, 90: 2.8, 65: 1.5, 45: 1.0, 32: 0.46, 20: 0.21, 16: 0.19, 14: 0.17, 10: 0.1, 7: 0.059,
}


class ScalingRangeError(ValueError):
    """A node outside the tabulated 7-130 nm range was asked for."""


def _interp(table: dict[float, float], node_nm: float) -> float:
    nodes = sorted(table)
    if not nodes[0] <= node_nm <= nodes[-1]:
        raise ScalingRangeError(f"technology node {node_nm} nm is outside the scaling table "
                                f"({nodes[0]}-{nodes[-1]} nm)")
    i = bisect.bisect_left(nodes, node_nm)
    if nodes[i] == node_nm:
        return table[nodes[i]]
    lo, hi = nodes[i - 1], nodes[i]
    t = (node_nm - lo) / (hi - lo)
    return table[lo] * (1 - t) + table[hi] * t


def energy_curve(node_nm: float, vdd_v: float) -> float:
    """Relative dynamic energy per operation at ``node_nm`` and ``vdd_v`` volts (dimensionless)."""
    polys = {n: a * vdd_v ** 2 + b * vdd_v + c for n, (a, b, c) in ENERGY_POLY.items()}
    return _interp(polys, node_nm)


def energy_factor(from_node_nm: float, from_vdd_v: float, to_node_nm: float, to_vdd_v: float) -> float:
    """Multiplier taking an energy (or leakage power) from (node, Vdd) to another (node, Vdd)."""
    if from_node_nm == to_node_nm and from_vdd_v == to_vdd_v:
        return 1.0
    return energy_curve(to_node_nm, to_vdd_v) / energy_curve(from_node_nm, from_vdd_v)


def area_factor(from_node_nm: float, to_node_nm: float) -> float:
    """Multiplier taking an area from one node to another."""
    if from_node_nm == to_node_nm:
        return 1.0
    return _interp(AREA_VS_45NM, to_node_nm) / _interp(AREA_VS_45NM, from_node_nm)


def width_factor(component: str, from_bits: int, to_bits: int) -> float:
    """Multiplier taking an arithmetic unit's energy/area/leakage from one width to another.

    Multipliers scale quadratically in width, everything else (adders, registers) linearly.
    """
    ratio = to_bits / from_bits
    return ratio * ratio if component == "mult" else ratio
