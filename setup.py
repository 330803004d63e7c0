"""Builds the compiled exact kernel; everything else is configured in pyproject.toml.

The kernel must compute exactly what models/exact/reference.py computes, so its float
code is compiled without contraction (no fused multiply-add) and without fast-math, and
without -march=native: vector paths are chosen at run time (see models/exact/kcore.h).
"""

from setuptools import Extension, setup

_DIR = "models/exact/"

kernel = Extension(
    "lmzip.models.exact._kernel",
    sources=[_DIR + f for f in ("_kernel.c", "kmodel.c", "kscalar.c", "kx86.c", "kneon.c")],
    depends=[_DIR + f for f in ("kcore.h", "kmodel.h", "kx86.inc")],
    extra_compile_args=["-std=gnu11", "-O2", "-ffp-contract=off", "-fno-fast-math", "-pthread"],
    extra_link_args=["-pthread"],
)

setup(ext_modules=[kernel])
