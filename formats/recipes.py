"""Coding recipes: small integer ids, each standing for one complete, frozen parameter object.

A format-2 header names its parameters with one of these ids (one byte) instead of
spelling them out. Each entry is the literal canonical JSON (``params.canonical_json``)
of what ``CodingConfig.for_level(L).with_model(<bundled model>).to_params()`` gave the
day the entry was added, the bundled model's identity (``model.sha256``,
``tokenizer.sha256``) included. ``tests/test_container.py`` pins the sha256 of every
entry: an entry's text never changes, and ids are never reused or removed.

To add one (a new level, new defaults, lanes, a new engine): append the next free id with
the new canonical JSON, and its sha256 to the test.
``python -c "from lmzip.formats.recipes import report_levels; report_levels()"`` says which
of today's levels have a recipe and prints the canonical JSON of those that do not.
The writer falls back to explicit parameters for anything unregistered, so a missing
recipe costs bytes, never correctness.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any, Mapping

# id -> canonical JSON. Append only.
_RECIPES: dict[int, str] = {
    # level 1: xz/stored only, 1 MiB chunks
    1: (
        '{"chunk_size":1048576,"coder":{"name":"constriction-range","precision":24,"quantizer":"int-f'
        'loor-v1","word_bits":32},"level":1,"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 2: xz/stored only, 1 MiB chunks
    2: (
        '{"chunk_size":1048576,"coder":{"name":"constriction-range","precision":24,"quantizer":"int-f'
        'loor-v1","word_bits":32},"level":2,"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 3: xz/stored only, 1 MiB chunks
    3: (
        '{"chunk_size":1048576,"coder":{"name":"constriction-range","precision":24,"quantizer":"int-f'
        'loor-v1","word_bits":32},"level":3,"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 4: bundled SmolLM2-135M (exact-v1) alone, 32 KiB chunks, n_ctx 512
    4: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":32768'
        ',"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits"'
        ':32},"level":4,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sh'
        'a256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"kind'
        '":"llm"},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb'
        '9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme"'
        ':true,"preset":9}}'
    ),
    # level 5: bundled SmolLM2-135M (exact-v1) + ensemble-x1, 64 KiB chunks, n_ctx 1024
    5: (
        '{"backend":{"bos":1,"discard":256,"keep":1,"n_ctx":1024,"name":"exact-v1"},"chunk_size":6553'
        '6,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits'
        '":32},"level":5,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","s'
        'ha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bia'
        's":{"fast_lr":0,"fast_shift":0,"limit":378194,"lr":484083,"lr_boost":0,"lr_half":0},"counts"'
        ':{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":nu'
        'll,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":727,"lr_bo'
        'ost":0,"lr_half":0,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"escape'
        '":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256":"3'
        'a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-lzm'
        'a2","extreme":true,"preset":9}}'
    ),
    # level 6: bundled SmolLM2-135M (exact-v1) + ensemble-x1, 128 KiB chunks, n_ctx 2048
    6: (
        '{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":1310'
        '72,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bit'
        's":32},"level":6,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","'
        'sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bi'
        'as":{"fast_lr":0,"fast_shift":0,"limit":378194,"lr":484083,"lr_boost":0,"lr_half":0},"counts'
        '":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":n'
        'ull,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":727,"lr_b'
        'oost":0,"lr_half":0,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"escap'
        'e":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256":"'
        '3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-lz'
        'ma2","extreme":true,"preset":9}}'
    ),
    # level 7: bundled SmolLM2-135M (exact-v1) + ensemble-x1, 256 KiB chunks, n_ctx 4096
    7: (
        '{"backend":{"bos":1,"discard":1024,"keep":1,"n_ctx":4096,"name":"exact-v1"},"chunk_size":262'
        '144,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bi'
        'ts":32},"level":7,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf",'
        '"sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"b'
        'ias":{"fast_lr":0,"fast_shift":0,"limit":378194,"lr":484083,"lr_boost":0,"lr_half":0},"count'
        's":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":'
        'null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":727,"lr_'
        'boost":0,"lr_half":0,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"esca'
        'pe":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256":'
        '"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-l'
        'zma2","extreme":true,"preset":9}}'
    ),
    # level 8: bundled SmolLM2-135M (exact-v1) + ensemble-x1, 512 KiB chunks, n_ctx 8192
    8: (
        '{"backend":{"bos":1,"discard":2048,"keep":1,"n_ctx":8192,"name":"exact-v1"},"chunk_size":524'
        '288,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bi'
        'ts":32},"level":8,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf",'
        '"sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"b'
        'ias":{"fast_lr":0,"fast_shift":0,"limit":378194,"lr":484083,"lr_boost":0,"lr_half":0},"count'
        's":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":'
        'null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":727,"lr_'
        'boost":0,"lr_half":0,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"esca'
        'pe":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256":'
        '"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-l'
        'zma2","extreme":true,"preset":9}}'
    ),
    # level 9: bundled SmolLM2-135M (exact-v1) + ensemble-x1, 1 MiB chunks, n_ctx 8192
    9: (
        '{"backend":{"bos":1,"discard":2048,"keep":1,"n_ctx":8192,"name":"exact-v1"},"chunk_size":104'
        '8576,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_b'
        'its":32},"level":9,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf"'
        ',"sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"'
        'bias":{"fast_lr":0,"fast_shift":0,"limit":378194,"lr":484083,"lr_boost":0,"lr_half":0},"coun'
        'ts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match"'
        ':null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":727,"lr'
        '_boost":0,"lr_half":0,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"esc'
        'ape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256"'
        ':"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-'
        'lzma2","extreme":true,"preset":9}}'
    ),
    # level 4: LLM alone, 512 KiB chunks, n_ctx 512, lanes {'max': 32, 'min_bytes': 16384, 'shared': False}
    10: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":524288'
        ',"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":'
        '32},"lanes":{"max":32,"min_bytes":16384,"shared":false},"level":4,"model":{"bos":1,"n_vocab":'
        '49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6'
        'f8c8c15e5bc70ea373728110db53"},"predictor":{"kind":"llm"},"tokenizer":{"kind":"model-pieces+b'
        'yte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b'
        '01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 5: ensemble-x1, 512 KiB chunks, n_ctx 512, lanes {'max': 32, 'min_bytes': 16384, 'shared': True}
    11: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":524288'
        ',"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":'
        '32},"lanes":{"max":32,"min_bytes":16384,"shared":true},"level":5,"model":{"bos":1,"n_vocab":4'
        '9152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f'
        '8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388,'
        '"lr":968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18}'
        ',"kind":"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_e'
        'dges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,"'
        'w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{'
        '"kind":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a5'
        '03007a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 5 --lanes 1: ensemble-x1, 64 KiB chunks, n_ctx 1024, 1 lane
    12: (
        '{"backend":{"bos":1,"discard":256,"keep":1,"n_ctx":1024,"name":"exact-v1"},"chunk_size":65536'
        ',"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":'
        '32},"level":5,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha2'
        '56":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{'
        '"fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"cou'
        'nts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match"'
        ':null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_'
        'boost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{'
        '"escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha2'
        '56":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"ra'
        'w-lzma2","extreme":true,"preset":9}}'
    ),
    # level 6: ensemble-x1, 512 KiB chunks, n_ctx 1024, lanes {'max': 32, 'min_bytes': 16384, 'shared': True}
    13: (
        '{"backend":{"bos":1,"discard":256,"keep":1,"n_ctx":1024,"name":"exact-v1"},"chunk_size":52428'
        '8,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits"'
        ':32},"lanes":{"max":32,"min_bytes":16384,"shared":true},"level":6,"model":{"bos":1,"n_vocab":'
        '49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6'
        'f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388'
        ',"lr":968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18'
        '},"kind":"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_'
        'edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,'
        '"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":'
        '{"kind":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a'
        '503007a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 6 --lanes 1: ensemble-x1, 128 KiB chunks, n_ctx 2048, 1 lane
    14: (
        '{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":13107'
        '2,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits"'
        ':32},"level":6,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha'
        '256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":'
        '{"fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"co'
        'unts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match'
        '":null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr'
        '_boost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":'
        '{"escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha'
        '256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"r'
        'aw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 7: ensemble-x1, 256 KiB chunks, n_ctx 4096, 1 lane
    15: (
        '{"backend":{"bos":1,"discard":1024,"keep":1,"n_ctx":4096,"name":"exact-v1"},"chunk_size":2621'
        '44,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits'
        '":32},"level":7,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sh'
        'a256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias"'
        ':{"fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"c'
        'ounts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"matc'
        'h":null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"l'
        'r_boost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm"'
        ':{"escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sh'
        'a256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"'
        'raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 8: ensemble-x1, 512 KiB chunks, n_ctx 8192, 1 lane
    16: (
        '{"backend":{"bos":1,"discard":2048,"keep":1,"n_ctx":8192,"name":"exact-v1"},"chunk_size":5242'
        '88,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits'
        '":32},"level":8,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sh'
        'a256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias"'
        ':{"fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"c'
        'ounts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"matc'
        'h":null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"l'
        'r_boost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm"'
        ':{"escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sh'
        'a256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"'
        'raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 9: ensemble-x1, 1024 KiB chunks, n_ctx 8192, 1 lane
    17: (
        '{"backend":{"bos":1,"discard":2048,"keep":1,"n_ctx":8192,"name":"exact-v1"},"chunk_size":1048'
        '576,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bit'
        's":32},"level":9,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","s'
        'ha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias'
        '":{"fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"'
        'counts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"mat'
        'ch":null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"'
        'lr_boost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm'
        '":{"escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","s'
        'ha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":'
        '"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 6: ensemble-x1, 512 KiB chunks, n_ctx 2048, lanes {'max': 32, 'min_bytes': 16384, 'shared': True}
    18: (
        '{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":52428'
        '8,"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits"'
        ':32},"lanes":{"max":32,"min_bytes":16384,"shared":true},"level":6,"model":{"bos":1,"n_vocab":'
        '49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6'
        'f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388'
        ',"lr":968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18'
        '},"kind":"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_'
        'edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,'
        '"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":'
        '{"kind":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a'
        '503007a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 1: byte-level CM engine (bytecm-v1, its level 1), xz or stored per chunk
    19: (
        '{"chunk_size":1048576,"cm":{"apm":["o1"],"apm_rate":7,"column":0,"diffusion":0,"diffusion_rat'
        'e":4,"hash_log":22,"high_order":0,"indirect":0,"inputs2":0,"kind":"bytecm-v1","match_log":18,'
        '"match_long":0,"match_min":6,"mixer":["c0"],"mixer_lr":4,"mixer_lr2":2,"orders":[1,2,3,4,6],"'
        'record":1,"sm_limit":1023,"sparse":1,"word":1,"x86":1},"coder":{"name":"constriction-range","'
        'precision":24,"quantizer":"int-floor-v1","word_bits":32},"level":1,"xz":{"container":"raw-lzm'
        'a2","extreme":true,"preset":9}}'
    ),
    # level 2: byte-level CM engine (bytecm-v1, its level 2), xz or stored per chunk
    20: (
        '{"chunk_size":1048576,"cm":{"apm":["o1","o2"],"apm_rate":7,"column":1,"diffusion":1,"diffusio'
        'n_rate":4,"hash_log":24,"high_order":8,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log'
        '":20,"match_long":24,"match_min":6,"mixer":["c0","match","c1","order"],"mixer_lr":4,"mixer_lr'
        '2":2,"orders":[1,2,3,4,5,6],"record":1,"sm_limit":1023,"sparse":3,"word":2,"x86":1},"coder":{'
        '"name":"constriction-range","precision":24,"quantizer":"int-floor-v1","word_bits":32},"level"'
        ':2,"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 3: byte-level CM engine (bytecm-v1, its level 3), xz or stored per chunk
    21: (
        '{"chunk_size":1048576,"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion'
        '":2,"diffusion_rate":4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-'
        'v1","match_log":22,"match_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","wor'
        'd"],"mixer_lr":4,"mixer_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6'
        ',"word":4,"x86":1},"coder":{"name":"constriction-range","precision":24,"quantizer":"int-floor'
        '-v1","word_bits":32},"level":3,"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # from 22 on: every level also tries the CM engine ("cm" key) on each chunk
    # level 4: LLM alone, 512 KiB chunks, n_ctx 512, lanes {'max': 32, 'min_bytes': 16384, 'shared': False}
    22: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":524288'
        ',"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":'
        '4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"m'
        'atch_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mix'
        'er_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"c'
        'oder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32}'
        ',"lanes":{"max":32,"min_bytes":16384,"shared":false},"level":4,"model":{"bos":1,"n_vocab":491'
        '52,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c'
        '8c15e5bc70ea373728110db53"},"predictor":{"kind":"llm"},"tokenizer":{"kind":"model-pieces+byte'
        '-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b018'
        '03"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 4 --lanes 1: LLM alone, 32 KiB chunks, n_ctx 512, 1 lane
    23: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":32768,'
        '"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":4'
        ',"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"ma'
        'tch_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mixe'
        'r_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"co'
        'der":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32},'
        '"level":4,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":'
        '"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"kind":"llm"'
        '},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa'
        '8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"pr'
        'eset":9}}'
    ),
    # level 5: ensemble-x1, 512 KiB chunks, n_ctx 512, lanes {'max': 32, 'min_bytes': 16384, 'shared': True}
    24: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":524288'
        ',"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":'
        '4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"m'
        'atch_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mix'
        'er_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"c'
        'oder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32}'
        ',"lanes":{"max":32,"min_bytes":16384,"shared":true},"level":5,"model":{"bos":1,"n_vocab":4915'
        '2,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8'
        'c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388,"lr'
        '":968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18},"k'
        'ind":"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_edge'
        's":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,"w_m'
        'ax":524288,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{"ki'
        'nd":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a5030'
        '07a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 5 --lanes 1: ensemble-x1, 64 KiB chunks, n_ctx 1024, 1 lane
    25: (
        '{"backend":{"bos":1,"discard":256,"keep":1,"n_ctx":1024,"name":"exact-v1"},"chunk_size":65536'
        ',"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":'
        '4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"m'
        'atch_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mix'
        'er_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"c'
        'oder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32}'
        ',"level":5,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256"'
        ':"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{"fa'
        'st_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"counts'
        '":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":nu'
        'll,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boo'
        'st":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"es'
        'cape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256"'
        ':"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-l'
        'zma2","extreme":true,"preset":9}}'
    ),
    # level 6: ensemble-x1, 512 KiB chunks, n_ctx 2048, lanes {'max': 32, 'min_bytes': 16384, 'shared': True}
    26: (
        '{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":52428'
        '8,"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate"'
        ':4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"'
        'match_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mi'
        'xer_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"'
        'coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32'
        '},"lanes":{"max":32,"min_bytes":16384,"shared":true},"level":6,"model":{"bos":1,"n_vocab":491'
        '52,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c'
        '8c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388,"l'
        'r":968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18},"'
        'kind":"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_edg'
        'es":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,"w_'
        'max":524288,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{"k'
        'ind":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503'
        '007a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 6 --lanes 1: ensemble-x1, 128 KiB chunks, n_ctx 2048, 1 lane
    27: (
        '{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":13107'
        '2,"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate"'
        ':4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"'
        'match_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mi'
        'xer_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"'
        'coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32'
        '},"level":6,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256'
        '":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{"f'
        'ast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"count'
        's":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":n'
        'ull,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_bo'
        'ost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"e'
        'scape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha256'
        '":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw-'
        'lzma2","extreme":true,"preset":9}}'
    ),
    # level 7: ensemble-x1, 256 KiB chunks, n_ctx 4096, 1 lane
    28: (
        '{"backend":{"bos":1,"discard":1024,"keep":1,"n_ctx":4096,"name":"exact-v1"},"chunk_size":2621'
        '44,"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate'
        '":4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,'
        '"match_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"m'
        'ixer_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},'
        '"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":3'
        '2},"level":7,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha25'
        '6":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{"'
        'fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"coun'
        'ts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":'
        'null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_b'
        'oost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"'
        'escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha25'
        '6":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw'
        '-lzma2","extreme":true,"preset":9}}'
    ),
    # level 8: ensemble-x1, 512 KiB chunks, n_ctx 8192, 1 lane
    29: (
        '{"backend":{"bos":1,"discard":2048,"keep":1,"n_ctx":8192,"name":"exact-v1"},"chunk_size":5242'
        '88,"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate'
        '":4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,'
        '"match_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"m'
        'ixer_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},'
        '"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":3'
        '2},"level":8,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha25'
        '6":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{"'
        'fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"coun'
        'ts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match":'
        'null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_b'
        'oost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{"'
        'escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha25'
        '6":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"raw'
        '-lzma2","extreme":true,"preset":9}}'
    ),
    # level 9: ensemble-x1, 1024 KiB chunks, n_ctx 8192, 1 lane
    30: (
        '{"backend":{"bos":1,"discard":2048,"keep":1,"n_ctx":8192,"name":"exact-v1"},"chunk_size":1048'
        '576,"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rat'
        'e":4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22'
        ',"match_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"'
        'mixer_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1}'
        ',"coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":'
        '32},"level":9,"model":{"bos":1,"n_vocab":49152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha2'
        '56":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},"predictor":{"bias":{'
        '"fast_lr":0,"fast_shift":0,"limit":756388,"lr":968166,"lr_boost":5808996,"lr_half":8000},"cou'
        'nts":{"max_candidates":24,"slots_log2":18},"kind":"ensemble-x1","logp_floor":-4194304,"match"'
        ':null,"min_escape":107374,"mixer":{"conf_edges":[19661,39322,58982],"ctx2":null,"lr":363,"lr_'
        'boost":5816,"lr_half":2000,"lr_shift":20,"w_max":524288,"w_min":-262144},"ngram":null,"ppm":{'
        '"escape":"C","max_order":6}},"tokenizer":{"kind":"model-pieces+byte-fallback+escape-v1","sha2'
        '56":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},"xz":{"container":"ra'
        'w-lzma2","extreme":true,"preset":9}}'
    ),
    # level 5: ensemble-x1, 512 KiB chunks, n_ctx 512, lanes {'max': 32, 'min_bytes': 32768, 'shared': True}
    31: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":524288'
        ',"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":'
        '4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"m'
        'atch_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mix'
        'er_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"c'
        'oder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32}'
        ',"lanes":{"max":32,"min_bytes":32768,"shared":true},"level":5,"model":{"bos":1,"n_vocab":4915'
        '2,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8'
        'c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388,"lr'
        '":968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18},"k'
        'ind":"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_edge'
        's":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,"w_m'
        'ax":524288,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{"ki'
        'nd":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a5030'
        '07a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 6: ensemble-x1, 512 KiB chunks, n_ctx 2048, lanes {'max': 32, 'min_bytes': 32768, 'shared': True}
    32: (
        '{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":52428'
        '8,"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate"'
        ':4,"hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"'
        'match_long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mi'
        'xer_lr2":2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"'
        'coder":{"name":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32'
        '},"lanes":{"max":32,"min_bytes":32768,"shared":true},"level":6,"model":{"bos":1,"n_vocab":491'
        '52,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c'
        '8c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388,"l'
        'r":968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18},"'
        'kind":"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_edg'
        'es":[19661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,"w_'
        'max":524288,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{"k'
        'ind":"model-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503'
        '007a700826fc6977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 1: byte-level engine (bytecm-lz1), xz or stored per chunk
    33: (
        '{"chunk_size":1048576,"cm":{"chain":48,"hash_log":20,"kind":"bytecm-lz1","lc":8,"lp":0,"nice_'
        'len":192,"parse":1,"pb":0},"coder":{"name":"constriction-range","precision":24,"quantizer":"i'
        'nt-floor-v1","word_bits":32},"level":1,"xz":{"container":"raw-lzma2","extreme":true,"preset":'
        "9}}"
    ),
    # level 4: LLM alone, 512 KiB chunks, n_ctx 512, lanes of >= 16 KiB cut by token count
    34: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":524288,"'
        'cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":4,"h'
        'ash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"match_l'
        'ong":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mixer_lr2":'
        '2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"coder":{"na'
        'me":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32},"lanes":{"c'
        'ut":"tokens","max":32,"min_bytes":16384,"shared":false},"level":4,"model":{"bos":1,"n_vocab":49'
        '152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8'
        'c15e5bc70ea373728110db53"},"predictor":{"kind":"llm"},"tokenizer":{"kind":"model-pieces+byte-fa'
        'llback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6977516b01803"},'
        '"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 5: ensemble-x1, 512 KiB chunks, n_ctx 512, lanes of >= 32 KiB cut by token count
    35: (
        '{"backend":{"bos":1,"discard":128,"keep":1,"n_ctx":512,"name":"exact-v1"},"chunk_size":524288,"'
        'cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":4,"h'
        'ash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"match_l'
        'ong":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mixer_lr2":'
        '2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"coder":{"na'
        'me":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32},"lanes":{"c'
        'ut":"tokens","max":32,"min_bytes":32768,"shared":true},"level":5,"model":{"bos":1,"n_vocab":491'
        '52,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8c'
        '15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388,"lr":9'
        '68166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18},"kind":'
        '"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_edges":[196'
        '61,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,"w_max":52428'
        '8,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{"kind":"model-'
        'pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc69'
        '77516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
    # level 6: ensemble-x1, 512 KiB chunks, n_ctx 2048, lanes of >= 32 KiB cut by token count
    36: (
        '{"backend":{"bos":1,"discard":512,"keep":1,"n_ctx":2048,"name":"exact-v1"},"chunk_size":524288,'
        '"cm":{"apm":["o0","o1","o2","match"],"apm_rate":7,"column":1,"diffusion":2,"diffusion_rate":4,"'
        'hash_log":26,"high_order":12,"indirect":1,"inputs2":1,"kind":"bytecm-v1","match_log":22,"match_'
        'long":24,"match_min":5,"mixer":["c0","match","c1","order","c2","word"],"mixer_lr":4,"mixer_lr2"'
        ':2,"orders":[1,2,3,4,5,6,7],"record":1,"sm_limit":1023,"sparse":6,"word":4,"x86":1},"coder":{"n'
        'ame":"constriction-range","precision":24,"quantizer":"log2q-exp2-v1","word_bits":32},"lanes":{"'
        'cut":"tokens","max":32,"min_bytes":32768,"shared":true},"level":6,"model":{"bos":1,"n_vocab":49'
        '152,"name":"SmolLM2-135M-Instruct.Q4_1.gguf","sha256":"b179c9523d0e6a0f98a330c7562b682750a6f8c8'
        'c15e5bc70ea373728110db53"},"predictor":{"bias":{"fast_lr":0,"fast_shift":0,"limit":756388,"lr":'
        '968166,"lr_boost":5808996,"lr_half":8000},"counts":{"max_candidates":24,"slots_log2":18},"kind"'
        ':"ensemble-x1","logp_floor":-4194304,"match":null,"min_escape":107374,"mixer":{"conf_edges":[19'
        '661,39322,58982],"ctx2":null,"lr":363,"lr_boost":5816,"lr_half":2000,"lr_shift":20,"w_max":5242'
        '88,"w_min":-262144},"ngram":null,"ppm":{"escape":"C","max_order":6}},"tokenizer":{"kind":"model'
        '-pieces+byte-fallback+escape-v1","sha256":"3a303cd3b89abb9b06e2fa8a4506afb6b67a503007a700826fc6'
        '977516b01803"},"xz":{"container":"raw-lzma2","extreme":true,"preset":9}}'
    ),
}

RECIPES: Mapping[int, str] = MappingProxyType(_RECIPES)
_BY_TEXT: dict[str, int] = {}
for _id, _text in sorted(_RECIPES.items()):
    _BY_TEXT.setdefault(_text, _id)  # the lowest id wins should a text ever be repeated


def recipe_params(recipe_id: int) -> dict[str, Any]:
    """A fresh copy of the parameter object of ``recipe_id`` (``KeyError`` if unknown)."""
    return json.loads(_RECIPES[recipe_id])


def recipe_id(canonical: str) -> int | None:
    """The id whose text is exactly ``canonical`` (a canonical JSON text), or None."""
    return _BY_TEXT.get(canonical)


def report_levels() -> None:  # pragma: no cover - a maintainer's helper
    """Print, for each level of today's lmzip, its recipe id or the JSON text to register."""
    from lmzip._config import LEVELS, CodingConfig
    from lmzip._runtime import Runtime
    from lmzip.formats.params import canonical_json

    identity = Runtime(None, 1).identity
    for level in sorted(LEVELS):
        config = CodingConfig.for_level(level)
        if config.uses_llm:
            config = config.with_model(identity)
        text = canonical_json(config.to_params()).decode()
        found = recipe_id(text)
        print(f"level {level}: " + (f"recipe {found}" if found else f"NOT REGISTERED: {text}"))
