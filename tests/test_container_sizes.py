"""The container's cost besides the payload, measured (issue 10's targets for format 2).

Targets: empty input <= 16 bytes; a 1-byte input <= 25 bytes in all; one chunk <= 24
bytes besides its payload; each further chunk <= 8; a 16 KiB text in one chunk <= 0.012
bits per byte. Measured on real archives (levels 1 and 4) and, for every level's recipe,
at the extremes of the size fields (the varints grow with the sizes).
"""

from __future__ import annotations

import io

import pytest

import lmzip
from lmzip.formats import container as fmt
from lmzip.formats.recipes import RECIPES, recipe_params

EMPTY_MAX, ONE_BYTE_MAX, ONE_CHUNK_MAX, FURTHER_CHUNK_MAX = 16, 25, 24, 8


def overhead(blob: bytes) -> tuple[int, list[int]]:
    """(bytes besides all payloads, per-record bytes besides the payload)."""
    stream = io.BytesIO(blob)
    _, size = fmt.read_header(stream)
    chunks = [c for c in fmt.iter_chunks(stream, size) if isinstance(c, fmt.Chunk)]
    starts = [c.offset for c in chunks] + [len(blob) - 5]
    per_record = [b - a - c.info.payload_size for a, b, c in zip(starts, starts[1:], chunks)]
    return len(blob) - sum(c.info.payload_size for c in chunks), per_record


def _archive(params: dict, sizes: list[tuple[fmt.Method, int, int]]) -> bytes:
    writer = fmt.Writer(params)
    out = writer.header()
    for method, raw_size, payload_size in sizes:
        raw = bytes(raw_size)
        out += writer.chunk(method, raw, raw if method == fmt.Method.STORED else bytes(payload_size))[0]
    return out + writer.end()


def test_empty_and_one_byte_inputs():
    with lmzip.Codec(level=1, threads=1) as codec:
        empty, one = codec.compress(b""), codec.compress(b"x")
    assert len(empty) <= EMPTY_MAX and len(one) <= ONE_BYTE_MAX
    assert (len(empty), len(one)) == (11, 18)  # today's layout (SPEC: Sizes)


@pytest.mark.parametrize("rid", sorted(RECIPES))
def test_every_level_within_targets_at_the_extremes(rid):
    params = recipe_params(rid)
    cs = params["chunk_size"]
    for method in (fmt.Method.STORED, fmt.Method.XZ, fmt.Method.LLM):
        for raw_size in (1, cs - 1, cs):  # short chunks store raw_size; a full one does not
            payload = raw_size  # the largest payload a writer makes (else it stores the chunk)
            total, (record,) = overhead(_archive(params, [(method, raw_size, payload)]))
            assert total <= ONE_CHUNK_MAX, (rid, method, raw_size, total)
        two = _archive(params, [(method, cs, cs), (method, cs, cs)])
        total, records = overhead(two)
        assert records[1] <= FURTHER_CHUNK_MAX, (rid, method, records)


def test_16k_text_costs_under_0_012_bits_per_byte():
    """One 16 KiB chunk (the held-out texts) at level 6, payload ~2.5 KB: 21 bytes."""
    params = recipe_params(6)
    total, _ = overhead(_archive(params, [(fmt.Method.LLM, 16 << 10, 2500)]))
    assert total <= ONE_CHUNK_MAX and 8 * total / (16 << 10) <= 0.012


def test_real_archives(codec4, capsys):
    """Real archives: an xz chunk, several chunks, an LLM chunk (level 4, bundled model)."""
    text = b"".join(b"line %d of a small text file, repeated with changes\n" % i for i in range(400))
    with lmzip.Codec(level=1, threads=1) as codec:
        xz_total, _ = overhead(codec.compress(text[:16 << 10]))
        empty_total, _ = overhead(codec.compress(b""))
        one_total, _ = overhead(codec.compress(b"x"))
    with lmzip.Codec(level=1, threads=1, chunk_size=4096) as codec:  # explicit params
        multi = codec.compress(text)
    _, records = overhead(multi)
    llm = codec4.compress(b"The quick brown fox jumps over the lazy dog near the river bank.")
    llm_total, (llm_record,) = overhead(llm)
    assert [c.method for c in fmt.read_index(io.BytesIO(llm))[1].chunks] == [fmt.Method.LLM]
    assert xz_total <= ONE_CHUNK_MAX and llm_total <= ONE_CHUNK_MAX
    assert max(records[:-1]) <= FURTHER_CHUNK_MAX and len(records) == -(-len(text) // 4096)
    with capsys.disabled():
        print(f"\nformat-2 container bytes besides the payload: empty input {empty_total} "
              f"(archive {empty_total}), 1 byte {one_total} (archive {one_total + 1}), one xz chunk "
              f"of 16 KiB {xz_total}, one LLM chunk (level 4) {llm_total}, further chunks "
              f"{sorted(set(records[:-1]))} each (chunk_size 4096)")
