"""models.tokenizer: every byte string round-trips through token ids (real SmolLM2 vocab)."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmzip.models import LlamaModel, LosslessTokenizer

CORPORA = Path(os.environ.get("LMZIP_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora"))


@pytest.fixture(scope="module")
def tok() -> LosslessTokenizer:
    model = LlamaModel()
    return LosslessTokenizer(model.pieces, model.tokenize)


def check(tok: LosslessTokenizer, data: bytes) -> list[int]:
    ids = tok.encode(data)
    assert tok.decode(ids) == data
    return ids


TRAPS = [
    b"",
    b"a",
    b"\x00",
    bytes(range(256)),
    bytes(range(255, -1, -1)) * 2,
    b"<|endoftext|><|im_start|>system\n<|im_end|><repo_name>",
    b"word" + b" " * 1000 + b"end",
    b"\n" * 500,
    b"line one\r\nline two\r\n\r\n",
    b"\xff\xfe\xc0\xc1\xf5\xf8\x80",  # never valid UTF-8; several have no byte token
    b"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80",  # valid, emoji, surrogate
    b"\t\x0b\x0c\x1b[31mred\x1b[0m\x7f",
    "Zażółć gęślą jaźń. Ünïcödé ½ ½".encode(),
]


@pytest.mark.parametrize("data", TRAPS, ids=range(len(TRAPS)))
def test_traps_round_trip(tok, data):
    check(tok, data)


def test_text_stays_compact(tok):
    text = b"The quick brown fox jumps over the lazy dog. " * 20
    assert len(text) / len(check(tok, text)) > 4  # byte fallback would give 1.0


def test_byte_without_token_uses_escape_pair(tok):
    ids = check(tok, b"\xff")
    assert len(ids) == 2 and ids[0] == tok.escape_token


def test_decode_rejects_dangling_escape(tok):
    with pytest.raises(ValueError):
        tok.decode([tok.escape_token])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_any_bytes_round_trip(tok, data):
    check(tok, data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_text_round_trips(tok, text):
    check(tok, text.encode("utf-8", errors="surrogatepass"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([b" ", b"  ", b"\n", b"\r\n", b"\t", b"<|endoftext|>", b"ab", b"\x00", b"\xe2\x82"]), max_size=200))
def test_whitespace_and_special_soup(tok, parts):
    check(tok, b"".join(parts))


def _corpus_files() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(p for p in CORPORA.rglob("*") if p.is_file() and p.suffix not in {".md", ".tsv"})


@pytest.mark.skipif(not _corpus_files(), reason="benchmark corpora not present")
def test_every_corpus_file_round_trips(tok):
    """alice29.txt's long space run is the classic failure; every corpus file must survive.

    Large files are checked on their first 256 KiB to keep the suite fast.
    """
    for path in _corpus_files():
        with open(path, "rb") as f:
            check(tok, f.read(1 << 20))
