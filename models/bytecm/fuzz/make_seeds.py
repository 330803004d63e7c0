"""Write the fuzz harness's seed corpus (models/bytecm/fuzz/seeds): valid payloads.

Each seed is: mode byte, decoded size (u16 LE), [raw params], payload; see
fuzz_decode.c. Payloads are made with the harness's shrunk tables (CM: hash_log <= 16,
match_log <= 12; LZ: hash_log <= 12, chain <= 32), so they decode to their data and the
fuzzer starts from deep inside the decoder. ``cm_params`` and ``lz_params`` are also
what scripts/bytecm_fuzz.sh compiles into the harness. CM level 1 is the legacy CM
level 1 (``bytecm.legacy_params(1)``); the LZ engine has three variants: level 1,
greedy with lc 3 / pb 2, and extreme context bits (lc 0, lp 4, pb 4).
Run: python models/bytecm/fuzz/make_seeds.py
"""

from __future__ import annotations

import os
import random
import struct
import sys

from lmzip.models import bytecm


def cm_params(level: int) -> dict:
    """The CM engine's parameters of `level` (1: the legacy CM level 1), shrunk."""
    p = bytecm.legacy_params(level)
    p["hash_log"] = min(p["hash_log"], 16)
    p["match_log"] = min(p["match_log"], 12)
    return p


shrunk = cm_params


def lz_params(variant: int) -> dict:
    """The LZ engine's variant 0 (level 1), 1 (greedy, lc 3, pb 2) or 2 (lc 0, lp 4, pb 4), shrunk."""
    p = bytecm.default_params(1)
    assert p["kind"] == bytecm.LZ_KIND
    if variant == 1:
        p.update(parse=0, lc=3, lp=0, pb=2)
    elif variant == 2:
        p.update(lc=0, lp=4, pb=4)
    p["hash_log"] = min(p["hash_log"], 12)
    p["chain"] = min(p["chain"], 32)
    return p


def samples() -> dict[str, bytes]:
    rnd = random.Random(9)
    text = (b"The quick brown fox jumps over the lazy dog. " * 6 + b"Alice was beginning to get very tired.\n") * 3
    csv = b"".join(b"%d,%s,%d.%02d\n" % (i, b"name%d" % (i % 7), i * 3, i % 100) for i in range(60))[:500]
    x86 = bytes(rnd.randrange(256) for _ in range(64))
    code = bytearray()
    for i in range(30):  # call rel32 with small offsets, as in x86 code
        code += b"\x55\x48\x89\xe5\xe8" + struct.pack("<i", -(i * 37) - 100)
    return {
        "text": text[:500],
        "csv": csv[:1000],
        "runs": b"\x00" * 200 + b"\xff" * 150 + b"ab" * 60,
        "random": bytes(rnd.randrange(256) for _ in range(400)),
        "x86": x86 + bytes(code),
        "one": b"A",
        "all256": bytes(range(256)),
    }


def _raw_params_seed(out: str, name: str, mode: int, params: dict, to_array, data: bytes) -> None:
    """A seed that carries its own parameter array (int16 each) before the payload."""
    arr = to_array(params)
    payload = bytecm.compress(data, params)
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([mode]) + struct.pack("<H", len(data)) + struct.pack(f"<{len(arr)}h", *arr) + payload)


def main() -> None:
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
    os.makedirs(out, exist_ok=True)
    for level in (1, 2, 3):
        p = shrunk(level)
        for name, data in samples().items():
            payload = bytecm.compress(data, p)
            assert bytecm.decompress(payload, len(data), p) == data
            head = bytes([level - 1]) + struct.pack("<H", len(data))
            with open(os.path.join(out, f"L{level}-{name}"), "wb") as f:
                f.write(head + payload)
        # round-trip mode: the data itself
        with open(os.path.join(out, f"L{level}-roundtrip-text"), "wb") as f:
            f.write(bytes([0x80 | (level - 1)]) + b"\0\0" + samples()["text"][:400])
    # the LZ engine (mode bit 6): its variants, plus longer repetitive data
    lz_samples = dict(samples(), long=(samples()["text"] * 8 + bytes(range(256)) * 4 + b"\0" * 3000)[:8000])
    for v in (0, 1, 2):
        p = lz_params(v)
        for name, data in lz_samples.items():
            payload = bytecm.compress(data, p)
            assert bytecm.decompress(payload, len(data), p) == data
            with open(os.path.join(out, f"LZ{v}-{name}"), "wb") as f:
                f.write(bytes([0x40 | v]) + struct.pack("<H", len(data)) + payload)
        with open(os.path.join(out, f"LZ{v}-roundtrip-text"), "wb") as f:
            f.write(bytes([0xC0 | v]) + b"\0\0" + lz_samples["long"][:3000])
    # raw parameters (mode 3): the parameter array, then a payload made for it
    csv = samples()["csv"]
    _raw_params_seed(out, "LZraw-params-csv", 0x43, lz_params(0), bytecm._lz_array, csv)
    _raw_params_seed(out, "raw-params-csv", 3, shrunk(2), bytecm._to_array, csv)
    print(f"wrote seeds to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
