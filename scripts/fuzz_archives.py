"""Mutation fuzzer for lmzip archives: every result is an ``LmzipError`` or exactly the
original bytes.

    python scripts/fuzz_archives.py --cases 1000000 [--seed 1] [--no-model] [--save DIR]
    python scripts/fuzz_archives.py --seed 1 --replay 4711      # one case, verbose

Originals: format-2 archives of every method (stored, xz, LLM exact; one chunk, several
chunks, empty input; recipe and explicit parameters) made here, the format-1 golden
archives (xz, llama.cpp LLM, exact LLM) and concatenations of both versions. Each case
takes one original (or two, concatenated) and applies 1-3 mutations: bit flips, byte
changes, truncations, inserted/deleted bytes, splices from another archive, appended
archives or junk, and length fields set to extremes; half of the structural ones then
recompute every checksum so that the mutation reaches the size checks and decoders
behind them.

The oracle is ``Codec.decompress`` (and, for a sample, ``Decompressor`` fed in pieces and
``LmzipFile``). The model never runs unless sampled: LLM chunks go through a guard that
records the payload the model would decode. Without recomputed checksums that payload
must be byte-identical to an original LLM payload (the container's checks refuse any
changed one before the model runs); a fraction ``--llm-sample`` of the cases that would
run the model really run it (at most ``--llm-max``). Everything is seeded per case, so
``--replay N`` rebuilds case N exactly.
"""

from __future__ import annotations

import argparse
import io
import random
import struct
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import lmzip
from lmzip import _file, _parallel
from lmzip._config import ModelIdentity
from lmzip.formats import container as fmt
from lmzip.formats import v2
from lmzip.formats.errors import LmzipError
from lmzip.formats.recipes import RECIPES, recipe_params
from lmzip.formats.wire import encode_varint

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
TEXT = (b"The model predicts each next token and the coder spends few bits on likely ones, "
        b"while rare words cost more. ")


# ----------------------------------------------------------------------------- originals


@dataclass(frozen=True)
class Original:
    name: str
    data: bytes
    output: bytes


def _golden_originals() -> list[Original]:
    rows = [line.split("\t") for line in (GOLDEN / "MANIFEST.tsv").read_text().splitlines()
            if line.strip() and not line.startswith("#")][1:]
    return [Original(f"golden:{a}", (GOLDEN / a).read_bytes(), (GOLDEN / i).read_bytes()) for a, i, *_ in rows]


def build_originals(with_model: bool) -> list[Original]:
    """The archives every case starts from (format-2 ones are made here)."""
    rng = random.Random(0)
    noise = rng.randbytes(300)
    text = (TEXT * 30)[:2500]
    out: list[Original] = []

    def add(name: str, codec: lmzip.Codec, data: bytes) -> None:
        out.append(Original(name, codec.compress(data), data))

    with lmzip.Codec(level=1, threads=1) as c1:
        add("v2:empty", c1, b"")
        add("v2:1-byte", c1, b"x")
        add("v2:stored", c1, noise)
        add("v2:xz", c1, text)
    with lmzip.Codec(level=2, threads=1, chunk_size=512) as c2:  # explicit params, 6 chunks
        add("v2:multi", c2, text[:1200] + noise + text[:900])
    if with_model:
        with lmzip.Codec(level=4, threads=1) as c4:
            add("v2:llm", c4, TEXT[:64])
        with lmzip.Codec(level=4, threads=1, chunk_size=48) as c4s:  # several LLM chunks
            add("v2:llm-multi", c4s, TEXT[:110] + noise[:40])
    out += _golden_originals()
    return out


# ----------------------------------------------------------------------------- structure


def length_fields(data: bytes) -> list[tuple[int, int, str]]:
    """(offset, width, kind) of the archive's length fields: "u32"/"u64" fixed fields
    (format 1) or "varint" (format 2). Best effort: stops where the structure ends."""
    fields: list[tuple[int, int, str]] = []
    try:
        stream = io.BytesIO(data)
        params, size = fmt.read_header(stream)
    except LmzipError:
        return fields
    if size.version == 1:
        fields.append((76, 4, "u32"))
        pos = int(size)
        while data[pos:pos + 1] == b"C" and pos + 26 <= len(data):
            fields += [(pos + 2, 4, "u32"), (pos + 6, 4, "u32")]
            pos += 26 + struct.unpack_from("<I", data, pos + 6)[0]
        if data[pos:pos + 1] == b"I":
            fields.append((pos + 1, 4, "u32"))
        if len(data) >= 12:
            fields.append((len(data) - 12, 8, "u64"))
        return fields
    if data[5] == 0:  # explicit params: base, params_len
        pos = 6
        for _ in range(2):
            width = _varint_width(data, pos)
            fields.append((pos, width, "varint"))
            pos += width
    else:
        fields.append((5, _varint_width(data, 5), "varint"))
    reader = fmt.RecordReader(size, check_payload=False)
    for _ in range(64):
        start = reader.offset
        try:
            item = reader.read(stream)
        except LmzipError:
            break
        if isinstance(item, fmt.Index):
            break
        pos = start + 1
        for present in (data[start] & v2.SHORT, item.info.method != fmt.Method.STORED):
            if present:
                width = _varint_width(data, pos)
                fields.append((pos, width, "varint"))
                pos += width
    return fields


def _varint_width(data: bytes, pos: int) -> int:
    width = 1
    while pos + width - 1 < len(data) and data[pos + width - 1] & 0x80 and width < 10:
        width += 1
    return width


def fix_checks(data: bytes) -> bytes:
    """Recompute every checksum a reader verifies before decoding (best effort), so a
    mutation reaches the checks and decoders behind them. Format 2's END check is the
    output's and cannot be recomputed here."""
    if data[4:5] == b"\x02":
        return _fix_v2(data)
    if data[:8] == fmt.MAGIC_V1:
        return _fix_v1(data)
    return data


def _fix_v2(data: bytes) -> bytes:
    out = bytearray(data)
    try:
        stream = io.BytesIO(data)
        params, size = fmt.read_header(stream)
    except LmzipError:
        return data
    crc, pos, chunk_size, n = zlib.crc32(data[:size]), int(size), params["chunk_size"], 0
    while pos < len(out):
        tag = out[pos]
        if tag & 0x80:
            if n == 0 and pos + 5 <= len(out):
                struct.pack_into("<I", out, pos + 1, zlib.crc32(bytes([tag]), crc))
            break
        p = pos + 1
        raw = chunk_size
        if tag & v2.SHORT:
            raw, p = _read_varint(out, p)
        payload = raw
        if tag & v2.METHOD_BITS != fmt.Method.STORED:
            payload, p = _read_varint(out, p)
        if raw is None or payload is None or p + payload + 4 > len(out):
            break
        crc = zlib.crc32(bytes(out[pos:p + payload]), crc)
        struct.pack_into("<I", out, p + payload, crc)
        pos, n = p + payload + 4, n + 1
    return bytes(out)


def _read_varint(data: bytearray, pos: int) -> tuple[int | None, int]:
    n = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            return None, pos
        byte = data[pos + i]
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, pos + i + 1
        shift += 7
    return None, pos


def _fix_v1(data: bytes) -> bytes:
    out = bytearray(data)
    if len(out) < 84:
        return data
    end = 80 + struct.unpack_from("<I", out, 76)[0]
    if end + 4 > len(out):
        return data
    struct.pack_into("<I", out, end, zlib.crc32(bytes(out[:end])))
    pos = end + 4
    while out[pos:pos + 1] == b"C" and pos + 26 <= len(out):
        payload_size = struct.unpack_from("<I", out, pos + 6)[0]
        payload = bytes(out[pos + 26:pos + 26 + payload_size])
        struct.pack_into("<I", out, pos + 18, zlib.crc32(payload))
        struct.pack_into("<I", out, pos + 22, zlib.crc32(bytes(out[pos:pos + 22])))
        pos += 26 + payload_size
    if out[pos:pos + 1] == b"I" and pos + 5 <= len(out):
        count = struct.unpack_from("<I", out, pos + 1)[0]
        crc_at = pos + 5 + 17 * count + 16
        if crc_at + 4 <= len(out):
            struct.pack_into("<I", out, crc_at, zlib.crc32(bytes(out[pos:crc_at])))
    return bytes(out)


# ----------------------------------------------------------------------------- mutations

EXTREMES = [0, 1, 2, 127, 128, 255, 256, 65535, 65536, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32,
            (1 << 35) - 1, (1 << 63) - 1]


def _set_length(rng: random.Random, data: bytes) -> bytes:
    fields = length_fields(data)
    if not fields:
        return _flip(rng, data)
    pos, width, kind = rng.choice(fields)
    value = rng.choice(EXTREMES + [len(data), len(data) - pos, rng.randrange(1 << 40)])
    if kind == "varint":
        if rng.random() < 0.5:  # keep the width when it fits: later offsets stay put
            value &= (1 << (7 * width)) - 1
        return data[:pos] + encode_varint(value) + data[pos + width:]
    return data[:pos] + (value % (1 << (8 * width))).to_bytes(width, "little") + data[pos + width:]


def _flip(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _byte(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    out[rng.randrange(len(out))] = rng.choice((0, 0xFF, 0x80, 0x7F, rng.randrange(256)))
    return bytes(out)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(len(data) + 1)] if rng.random() < 0.7 else data[rng.randrange(1, 9):]


def _indel(rng: random.Random, data: bytes) -> bytes:
    pos = rng.randrange(len(data) + 1)
    if rng.random() < 0.5 and data:
        return data[:pos] + data[pos + rng.randrange(1, 5):]
    return data[:pos] + rng.randbytes(rng.randrange(1, 5)) + data[pos:]


class Mutator:
    """Applies seeded mutations; ``others`` supplies splice and concatenation material."""

    def __init__(self, originals: list[Original]) -> None:
        self.originals = originals

    def _splice(self, rng: random.Random, data: bytes) -> bytes:
        other = rng.choice(self.originals).data
        a, b = sorted(rng.randrange(len(data) + 1) for _ in range(2))
        c = rng.randrange(len(other) + 1)
        d = min(len(other), c + rng.randrange(1, 64))
        return data[:a] + other[c:d] + data[b:]

    def _append(self, rng: random.Random, data: bytes) -> bytes:
        if rng.random() < 0.5:
            return data + rng.choice((b"\x00", b"\x89", b"\x89LM", b"\x89LMZ", b"junk", rng.randbytes(9)))
        return data + rng.choice(self.originals).data[: rng.randrange(1, 40)]

    def mutate(self, rng: random.Random, data: bytes) -> tuple[bytes, list[str], bool]:
        ops: dict[str, Callable[[random.Random, bytes], bytes]] = {
            "flip": _flip, "byte": _byte, "truncate": _truncate, "indel": _indel,
            "splice": self._splice, "append": self._append, "length": _set_length,
        }
        names: list[str] = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            name = rng.choices(list(ops), weights=(30, 15, 12, 10, 10, 5, 18))[0]
            data = ops[name](rng, data)
            names.append(name)
        fixed = rng.random() < 0.35
        if fixed:
            data = fix_checks(data)
        return data, names, fixed


# ----------------------------------------------------------------------------- the oracle


class ModelWouldRun(Exception):
    """An LLM chunk passed every container check and is about to be decoded."""

    def __init__(self, job: tuple) -> None:
        super().__init__(f"chunk {job[0]}")
        self.job = job


class _IdentityOnly:
    """Stands in for a loaded model where only its identity is needed (check_model)."""

    def __init__(self, identity: ModelIdentity) -> None:
        self.identity = identity

    def check(self, config) -> None:
        from lmzip._runtime import Runtime

        Runtime.check(self, config)  # type: ignore[arg-type]


def bundled_identity() -> ModelIdentity:
    """The bundled model's identity as frozen in the recipes (no model load)."""
    params = next(recipe_params(rid) for rid in RECIPES if "model" in recipe_params(rid))
    m = params["model"]
    return ModelIdentity(m["name"], m["sha256"], m["n_vocab"], params["tokenizer"]["sha256"], m["bos"])


class Oracle:
    """Decodes a case with lmzip and classifies the result."""

    def __init__(self, identity: ModelIdentity, llm_payloads: set[bytes]) -> None:
        self.codec = lmzip.Codec(threads=1)
        self.codec._runtime = _IdentityOnly(identity)  # type: ignore[assignment]
        self.llm_payloads = llm_payloads
        self.allow_model = False
        self._real_runtime = None
        self.codec._runner.decode = self._guarded_decode  # type: ignore[method-assign]

    def _runtime(self):
        if self._real_runtime is None:
            from lmzip._runtime import Runtime

            self._real_runtime = Runtime(None, 1)
        return self._real_runtime

    def _guarded_decode(self, jobs, config, on_bytes=None):
        for job in jobs:
            if job[1] == fmt.Method.LLM and not self.allow_model:
                raise ModelWouldRun(job)
            yield _parallel._decode(job, config, self._runtime, on_bytes)

    def decode(self, data: bytes) -> tuple[str, bytes | None]:
        """("ok", output) or ("error", None); ModelWouldRun propagates."""
        try:
            return "ok", self.codec.decompress(data)
        except LmzipError:
            return "error", None


def run_case(oracle: Oracle, mutator: Mutator, seed: int, n: int, args) -> tuple[str, str, bytes, list[str]]:
    """(outcome, detail, mutated archive, mutation names) of case ``n``."""
    rng = random.Random(f"{seed}:{n}")
    originals = mutator.originals
    first = rng.choice(originals)
    data, expected = first.data, first.output
    if rng.random() < 0.08:  # a concatenation (it decodes to both outputs)
        second = rng.choice(originals)
        data, expected = data + second.data, expected + second.output
    mutated, names, fixed = mutator.mutate(rng, data)
    kind = "+".join(names) + ("+fix" if fixed else "")
    if mutated == data:
        return "unchanged", kind, mutated, names
    try:
        status, out = oracle.decode(mutated)
    except ModelWouldRun as stop:
        payload = stop.job[2]
        if not fixed and payload not in oracle.llm_payloads:
            return "FAIL", f"{kind}: the model would decode a changed payload (chunk {stop.job[0]})", mutated, names
        if rng.random() >= args.llm_sample or args.llm_done >= args.llm_max:
            # Not decoded: the model would get an original payload (the mutation is elsewhere,
            # e.g. after the chunk) or one whose checks the mutator recomputed.
            return ("model-skipped-fixed" if fixed else "model-skipped-intact"), kind, mutated, names
        args.llm_done += 1
        oracle.allow_model = True
        try:
            status, out = oracle.decode(mutated)
        except Exception as exc:  # noqa: BLE001 - reported as a failure
            return "FAIL", f"{kind}: {type(exc).__name__}: {exc}", mutated, names
        finally:
            oracle.allow_model = False
        kind += "+model"
    except Exception as exc:  # noqa: BLE001 - anything but LmzipError is a failure
        return "FAIL", f"{kind}: {type(exc).__name__}: {exc}", mutated, names
    if status == "ok" and out != expected and out != _members_output(originals, mutated):
        return "FAIL", f"{kind}: decoded to {len(out)} wrong bytes", mutated, names
    if rng.random() < args.stream_sample:
        problem = _streaming_check(oracle, rng, mutated, status, out)
        if problem:
            return "FAIL", f"{kind}: {problem}", mutated, names
    return status, kind, mutated, names


def _members_output(originals: list[Original], data: bytes) -> bytes | None:
    """If ``data`` is whole original archives back to back (a cut at a member boundary, an
    appended archive), the output that is right for it; else None."""
    out = bytearray()
    pos = 0
    while pos < len(data):
        # Archives are self-delimiting: no archive is a proper prefix of another.
        match = next((o for o in originals if data.startswith(o.data, pos)), None)
        if match is None:
            return None
        out += match.output
        pos += len(match.data)
    return bytes(out) if data else None


def _streaming_check(oracle: Oracle, rng: random.Random, data: bytes, status: str, out: bytes | None) -> str | None:
    """Decompressor (fed in random pieces) and LmzipFile agree with the one-shot result."""
    try:
        d = lmzip.Decompressor(codec=oracle.codec)
        got = bytearray()
        pos = 0
        while pos < len(data) and not d.eof:
            step = rng.randrange(1, 64)
            got += d.decompress(data[pos:pos + step])
            pos += step
        if d.eof and status == "ok" and not d.unused_data and pos >= len(data) and bytes(got) != out:
            return "Decompressor output differs"
        if status == "error" and d.eof and not d.unused_data and pos >= len(data):
            return "Decompressor accepted what decompress refused"
    except (LmzipError, EOFError, ModelWouldRun):
        pass
    except Exception as exc:  # noqa: BLE001
        return f"Decompressor raised {type(exc).__name__}: {exc}"
    try:
        # LmzipFile's reading stack (lmzip/_file.py) over the guarded codec.
        f = io.BufferedReader(_file._ArchiveReader(io.BytesIO(data), lmzip.Decompressor, trailing_error=(),
                                                   codec=oracle.codec))
        got = f.read()
        if status != "ok" or got != out:
            return "LmzipFile accepted what decompress refused" if status != "ok" else "LmzipFile output differs"
    except (LmzipError, EOFError, ModelWouldRun):
        if status == "ok":
            return "LmzipFile refused what decompress accepted"
    except Exception as exc:  # noqa: BLE001
        return f"LmzipFile raised {type(exc).__name__}: {exc}"
    return None


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--replay", type=int, help="run only case N of --seed, verbosely")
    ap.add_argument("--no-model", action="store_true", help="no format-2 LLM originals (no model load)")
    ap.add_argument("--llm-sample", type=float, default=0.002, help="fraction of model-bound cases decoded")
    ap.add_argument("--llm-max", type=int, default=20, help="at most this many real LLM decodes")
    ap.add_argument("--stream-sample", type=float, default=0.02, help="fraction also run through "
                    "Decompressor and LmzipFile")
    ap.add_argument("--save", type=Path, help="write each failing archive to this folder")
    ap.add_argument("--report-every", type=float, default=30.0, help="seconds between progress lines")
    args = ap.parse_args(argv)
    args.llm_done = 0

    t0 = time.perf_counter()
    originals = build_originals(with_model=not args.no_model)
    identity = bundled_identity()
    llm_payloads = {c.payload for o in originals for c in _chunks(o.data) if c.info.method == fmt.Method.LLM}
    oracle = Oracle(identity, llm_payloads)
    for o in originals:  # every original decodes (LLM ones only as far as the guard)
        try:
            status, out = oracle.decode(o.data)
            assert status == "ok" and out == o.output, o.name
        except ModelWouldRun:
            pass
    mutator = Mutator(originals)
    print(f"{len(originals)} originals ({', '.join(o.name for o in originals)}); "
          f"set up in {time.perf_counter() - t0:.1f} s", flush=True)

    if args.replay is not None:
        outcome, detail, data, _ = run_case(oracle, mutator, args.seed, args.replay, args)
        print(f"case {args.replay}: {outcome} ({detail}); {len(data)} bytes: {data.hex()}")
        return 1 if outcome == "FAIL" else 0

    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    failures: list[str] = []
    start = last = time.perf_counter()
    for n in range(args.cases):
        outcome, detail, data, names = run_case(oracle, mutator, args.seed, n, args)
        counts[outcome] += 1
        kinds.update(names)
        if outcome == "FAIL":
            line = (f"FAIL case {n}: {detail}; reproduce: python scripts/fuzz_archives.py "
                    f"--seed {args.seed} --replay {n}" + (" --no-model" if args.no_model else ""))
            failures.append(line)
            print(line, flush=True)
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"seed{args.seed}-case{n}.lmz").write_bytes(data)
        now = time.perf_counter()
        if now - last >= args.report_every:
            last = now
            print(f"  {n + 1:,} cases, {(n + 1) / (now - start):,.0f} cases/s, {counts['FAIL']} failures",
                  flush=True)
    elapsed = time.perf_counter() - start
    print(f"{args.cases:,} cases in {elapsed:.1f} s ({args.cases / elapsed:,.0f} cases/s), seed {args.seed}")
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    print("mutations applied: " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    print(f"real LLM decodes: {args.llm_done}; failures: {len(failures)}")
    return 1 if failures else 0


def _chunks(data: bytes) -> list[fmt.Chunk]:
    stream = io.BytesIO(data)
    out: list[fmt.Chunk] = []
    while stream.tell() < len(data):
        _, size = fmt.read_header(stream)
        for item in fmt.iter_chunks(stream, size):
            if isinstance(item, fmt.Chunk):
                out.append(item)
    return out


if __name__ == "__main__":
    sys.exit(main())
