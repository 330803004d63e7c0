"""Builds the compiled exact kernel; everything else is configured in pyproject.toml.

The kernel must compute exactly what models/exact/reference.py computes, so its float
code is compiled without contraction (no fused multiply-add) and without fast-math, and
without -march=native: vector paths (AVX2, AVX-512, NEON) are compiled per function and
chosen at run time (see models/exact/kcore.h).
"""

import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_DIR = "models/exact/"
_FLAGS = ["-std=gnu11", "-O2", "-ffp-contract=off", "-fno-fast-math", "-pthread"]
# GCC only: register-pressure-aware scheduling (the integer kernels spill without it).
_GCC_FLAGS = ["-fschedule-insns", "-fsched-pressure"]


def _is_gcc(cmd: list[str]) -> bool:
    try:
        out = subprocess.run([cmd[0], "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, IndexError, subprocess.SubprocessError):
        return False
    return "clang" not in out.lower() and ("gcc" in out.lower() or "free software foundation" in out.lower())


class _BuildExt(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            raise RuntimeError("lmzip's compiled cores need GCC or Clang (C11 with GNU extensions)")
        gcc = _is_gcc(getattr(self.compiler, "compiler_so", None) or [])
        for ext in self.extensions:
            ext.extra_compile_args = _FLAGS + (_GCC_FLAGS if gcc else [])
        super().build_extensions()


# One entry per compiled module. Every one is built with _FLAGS (exact float semantics,
# no -march=native): each sits next to the Python that wraps it and has a pure-Python
# or reference twin that the tests compare it with.
kernel = Extension(
    "lmzip.models.exact._kernel",
    sources=[_DIR + f for f in ("_kernel.c", "kmodel.c", "kscalar.c", "kx86.c", "kneon.c")],
    depends=[_DIR + f for f in ("kcore.h", "kmodel.h", "kx86.inc")],
    extra_compile_args=_FLAGS,
    extra_link_args=["-pthread"],
)

EXTENSIONS = [
    kernel,
    Extension(
        "lmzip.coder._lanecoder",
        sources=["coder/_lanecoder.c"],
        depends=["coder/lanecore.h"],
        extra_compile_args=_FLAGS,
    ),
    Extension(
        "lmzip.models.bytecm._bytecm",
        sources=["models/bytecm/_bytecm.c", "models/bytecm/bcm.c", "models/bytecm/lz.c"],
        depends=["models/bytecm/bcm.h", "models/bytecm/lz.h", "coder/binarith.h"],
        extra_compile_args=_FLAGS,
    ),
    Extension(
        "lmzip.models._xlanes",
        sources=["models/_xlanes.c"],
        depends=["models/xlanes_tables.h", "models/xlanes_passes.h"],
        extra_compile_args=_FLAGS,
    ),
]

setup(ext_modules=EXTENSIONS, cmdclass={"build_ext": _BuildExt})
