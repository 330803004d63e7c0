"""Hostile archives (huge declared lengths, header bombs, huge chunk counts; formats 1
and 2) are refused with an ``LmzipError`` in under 1 second and under 100 MB.

Each archive is crafted with valid checksums wherever a check would otherwise stop it
early, so the bound under test is the one on lengths. The measurements run in a fresh
subprocess: wall time per call, ``tracemalloc``'s peak per call, and the growth of the
process's peak resident size over all calls.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from lmzip.formats import container as fmt
from lmzip.formats import v1
from lmzip.formats.recipes import RECIPES, recipe_params
from lmzip.formats.wire import encode_varint

GOLDEN = Path(__file__).parent / "golden"
LIMIT_S = 1.0
LIMIT_BYTES = 100 << 20

# ----------------------------------------------------------------------------- builders


def deflate_bomb(prefix: bytes, suffix: bytes, size: int, dictionary: bytes) -> bytes:
    """Raw DEFLATE of ``prefix + b"a" * size + suffix`` made without inflating it here:
    after a full flush the compressor's output for the same 1 MiB block repeats."""
    block = b"a" * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    head = c.compress(prefix + block) + c.flush(zlib.Z_FULL_FLUSH)
    unit = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(block) + c.flush(zlib.Z_FULL_FLUSH) == unit
    return head + unit * (size // len(block) - 2) + c.compress(block + suffix) + c.flush()


def v1_header(params_body: bytes, flags: int = v1.FLAG_PARAMS_DEFLATED, model: bytes = bytes(32),
              tokenizer: bytes = bytes(32)) -> bytes:
    head = struct.pack("<8sBBH32s32sI", fmt.MAGIC_V1, 1, 0, flags, model, tokenizer, len(params_body))
    return head + params_body + struct.pack("<I", zlib.crc32(head + params_body))


def v1_record(method: int, raw_size: int, payload_size: int) -> bytes:
    head = struct.pack("<1sBIIQI", b"C", method, raw_size, payload_size, 0, 0)
    return head + struct.pack("<I", zlib.crc32(head))


def v1_index(count: int, index_offset: int) -> bytes:
    body = struct.pack("<1sI", b"I", count) + bytes(16)
    return body + struct.pack("<I", zlib.crc32(body)) + struct.pack("<Q4s", index_offset, b"LMZE")


def v2_explicit(base: int, body: bytes, declared: int | None = None) -> bytes:
    n = len(body) if declared is None else declared
    return fmt.MAGIC + b"\x02\x00" + encode_varint(base) + encode_varint(n) + body


def v2_record(header: bytes, tag: int, *varints: int, payload: bytes = b"") -> bytes:
    fields = bytes([tag]) + b"".join(encode_varint(v) for v in varints) + payload
    return header + fields + struct.pack("<I", zlib.crc32(header + fields))


def _params_text(**extra) -> bytes:
    return fmt.canonical_json({"level": 1, "chunk_size": 1 << 31, **extra})


def _deflate(text: bytes, dictionary: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    return c.compress(text) + c.flush()


def _golden_header(name: str) -> bytes:
    """The header of a golden archive (it names the bundled model)."""
    blob = (GOLDEN / name).read_bytes()
    _, size = fmt.read_header(io.BytesIO(blob))
    return blob[:size]


def hostile_archives() -> dict[str, bytes]:
    """Name -> archive. Each must be refused cheaply."""
    d1 = v1.PARAMS_DICTIONARY_V1
    base = min(RECIPES)
    llm_recipe = next(rid for rid in RECIPES if "model" in recipe_params(rid))
    llm_v2 = fmt.encode_header(recipe_params(llm_recipe))
    big = fmt.encode_header(recipe_params(base) | {"chunk_size": 1 << 31})
    cases = {
        # Format 1: the case, a ~916 KB params block that inflates to 900 MB.
        "v1 header bomb 900 MB": v1_header(deflate_bomb(b'{"chunk_size":4,"level":1,"pad":"', b'"}', 900 << 20, d1)),
        "v1 params length past the end": v1_header(b"")[:76] + struct.pack("<I", 1 << 20) + bytes(100),
        "v1 deeply nested params": v1_header(_deflate(b"[" * 60000, d1)),
        "v1 payload 4 GiB declared": v1_header(_deflate(_params_text(), d1)) + v1_record(1, 1 << 31, (1 << 32) - 1),
        "v1 raw size 4 GiB declared": v1_header(_deflate(_params_text(), d1)) + v1_record(1, (1 << 32) - 1, 10),
        "v1 index of 2^32-1 chunks": v1_header(_deflate(_params_text(), d1)) + v1_index((1 << 32) - 1, 0),
        "v1 model header, payload 4 GiB declared": _golden_header("sample-x6-avx2.lmz") + v1_record(2, 4, (1 << 32) - 1),
        # Format 2.
        "v2 explicit params bomb": v2_explicit(base, deflate_bomb(b'{"chunk_size":4,"level":1,"pad":"', b'"}',
                                                                  60 << 20, RECIPES[base].encode())),
        "v2 explicit params length past the end": v2_explicit(base, b"x" * 10, declared=1 << 16),
        "v2 explicit params length too large": v2_explicit(base, b"", declared=(1 << 21) - 1),
        "v2 deeply nested params": v2_explicit(base, _deflate(b"[" * 60000, RECIPES[base].encode())),
        "v2 payload 2 GiB declared": v2_record(big, 1, (1 << 31) - 1),
        "v2 raw size 2 GiB declared": v2_record(fmt.encode_header(recipe_params(base)), 0x41, (1 << 31), 5),
        "v2 huge varint": fmt.encode_header(recipe_params(base)) + b"\x41" + b"\xff" * 100,
        "v2 model recipe, payload 2 GiB declared": v2_record(llm_v2, 0x42, 1000, 999) + bytes(10),
        "v2 model recipe, forged short chunk": v2_record(llm_v2, 0x42, 1000, 500) + bytes(600),
    }
    return cases


# ----------------------------------------------------------------------------- the measurement

_RUNNER = textwrap.dedent("""
    import io, json, resource, sys, time, tracemalloc
    sys.path.insert(0, sys.argv[1])
    import test_container_hostile as H
    import lmzip
    from lmzip.formats import container as fmt

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    def incremental(blob):
        d = lmzip.Decompressor(threads=1)
        d.decompress(blob)
        # Without an error, a truncated archive leaves it waiting for more input (as lzma's).
        return "waiting for more input" if not d.eof else None

    calls = {
        "decompress": lambda b: lmzip.decompress(b, threads=1),
        "Decompressor": incremental,
        "LmzipFile": lambda b: lmzip.LmzipFile(io.BytesIO(b)).read(),
        "read_index": lambda b: fmt.read_index(io.BytesIO(b)),
    }
    cases = H.hostile_archives()
    lmzip.decompress(lmzip.compress(b"warm up", level=1))  # imports done before measuring
    try:  # reset the peak-RSS mark (Linux): only what the calls below use counts
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    base = status("VmRSS")
    out = []
    for name, blob in cases.items():
        for call_name, call in calls.items():
            row = {"case": name, "call": call_name, "size": len(blob)}
            for traced in (False, True):
                if traced:
                    tracemalloc.start()
                t = time.perf_counter()
                try:
                    result = call(blob)
                    row["error"] = result if call_name == "Decompressor" else None
                except lmzip.LmzipError as exc:
                    row["error"] = type(exc).__name__ + ": " + str(exc)
                except EOFError as exc:  # LmzipFile on a truncated archive, as lzma.LZMAFile
                    row["error"] = ("EOFError: " if call_name == "LmzipFile" else "NOT LMZIP EOFError: ") + str(exc)
                except BaseException as exc:
                    row["error"] = "NOT LMZIP " + type(exc).__name__ + ": " + str(exc)[:200]
                if traced:
                    row["peak"] = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                else:
                    row["seconds"] = time.perf_counter() - t
            out.append(row)
    print(json.dumps({"rows": out, "rss_growth": status("VmHWM") - base}))
""")


@pytest.fixture(scope="module")
def measured() -> dict:
    proc = subprocess.run([sys.executable, "-c", _RUNNER, str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_hostile_archives_are_small():
    """The archives themselves are modest (the 900 MB bomb is ~1 MB, as in the report)."""
    sizes = {name: len(blob) for name, blob in hostile_archives().items()}
    assert all(size < 2 << 20 for size in sizes.values()), sizes
    assert sizes["v1 header bomb 900 MB"] > 800_000


def test_hostile_archives_are_refused_fast_and_small(measured, capsys):
    rows = measured["rows"]
    with capsys.disabled():  # the table for the record (shown with -s or on failure)
        _print_table(measured)
    assert len(rows) == 4 * len(hostile_archives())
    for row in rows:
        what = f"{row['case']} via {row['call']}"
        listing_ok = row["call"] == "read_index" and row["error"] is None  # lists; decodes nothing
        assert listing_ok or (row["error"] and not row["error"].startswith("NOT LMZIP")), (what, row["error"])
        assert row["seconds"] < LIMIT_S, (what, row["seconds"])
        assert row["peak"] < LIMIT_BYTES, (what, row["peak"])
    assert measured["rss_growth"] < LIMIT_BYTES, measured["rss_growth"]


def _print_table(measured: dict) -> None:
    worst: dict[str, list] = {}
    for row in measured["rows"]:
        w = worst.setdefault(row["case"], [0.0, 0, row["size"], row["error"]])
        w[0] = max(w[0], row["seconds"])
        w[1] = max(w[1], row["peak"])
    print(f"\n{'case':<42} {'size':>8} {'max s':>6} {'peak MB':>7}  error (decompress)")
    for name, (sec, peak, size, error) in worst.items():
        print(f"{name:<42} {size:>8} {sec:>6.3f} {peak / 2**20:>7.2f}  {str(error)[:70]}")
    print(f"process peak RSS growth over all calls: {measured['rss_growth'] / 2**20:.1f} MB")
