"""Hardware models, one module per kind; each registers its ``kind:`` in ``archsim.hw.registry``."""
