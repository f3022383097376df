"""Numba-jitted cycle-accounting cores: pure functions on scalars and arrays, called by ``archsim.hw``."""
