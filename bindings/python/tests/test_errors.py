"""Failures become libemb.EmbError with the library's status and message; nothing crashes."""

import os

import pytest

import libemb
from embtest import FIXTURES


def test_missing_file_is_io_error(tmp_path):
    missing = str(tmp_path / "nope.h5")
    with pytest.raises(libemb.EmbError) as e:
        libemb.Model(missing)
    err = e.value
    assert err.status == libemb.Status.EMB_ERR_IO and err.status == 3
    assert err.status.name == "EMB_ERR_IO" and err.status_name == "EMB_ERR_IO"
    assert "nope.h5" in err.message  # emb_last_error()
    assert "EMB_ERR_IO" in str(err)


@pytest.mark.parametrize("content", [b"", b"not an HDF5 file at all\n" * 100,
                                     b"\x89HDF\r\n\x1a\n" + b"\x00" * 600])
def test_invalid_model_file_is_format_error(tmp_path, content):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(content)
    with pytest.raises(libemb.EmbError) as e:
        libemb.Model(str(bad))
    assert e.value.status in (libemb.Status.EMB_ERR_FORMAT, libemb.Status.EMB_ERR_IO)
    assert e.value.message


def test_truncated_model_file(tmp_path, bert_e5):
    data = open(bert_e5, "rb").read()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(libemb.EmbError) as e:
        libemb.Model(str(cut))
    assert e.value.status in (libemb.Status.EMB_ERR_FORMAT, libemb.Status.EMB_ERR_IO)


def test_closed_model_raises(bert_e5):
    m = libemb.Model(bert_e5)
    m.close()
    assert m.closed
    for call in (lambda: m.encode(["x"]), lambda: m.tokenize("x"), lambda: m.dim,
                 lambda: m.max_tokens, lambda: m.metadata):
        with pytest.raises(libemb.EmbError) as e:
            call()
        assert e.value.status == libemb.Status.EMB_ERR_INVALID_ARGUMENT
        assert "closed" in e.value.message
    m.close()  # idempotent
    with libemb.Model(bert_e5) as m2:
        assert not m2.closed
    assert m2.closed
    with pytest.raises(libemb.EmbError):
        m2.encode(["x"])


def test_bad_arguments(bert_e5):
    with libemb.Model(bert_e5) as m:
        with pytest.raises(ValueError):
            m.encode(["x"], kind="document")
        with pytest.raises(TypeError):
            m.encode([1, 2])
        with pytest.raises(libemb.EmbError) as e:
            m.encode(["ok", b"\xc3\x28 invalid"])
        assert e.value.status == libemb.Status.EMB_ERR_INVALID_UTF8
        assert e.value.message.startswith("text 1")  # the first failing text's index
        with pytest.raises(libemb.EmbError) as e:
            m.encode(["lone \ud800 surrogate"])
        assert e.value.status == libemb.Status.EMB_ERR_INVALID_UTF8
        with pytest.raises(libemb.EmbError) as e:
            m.tokenize(b"\xff")
        assert e.value.status == libemb.Status.EMB_ERR_INVALID_UTF8
        with pytest.raises(libemb.EmbError) as e:
            m.encode(["x"], prompt=b"\xff")
        assert e.value.status == libemb.Status.EMB_ERR_INVALID_UTF8
        # the model still works after errors
        assert m.encode(["x"]).shape == (1, 32)
    with pytest.raises(libemb.EmbError) as e:
        libemb.Model(bert_e5, threads=-1)
    assert e.value.status == libemb.Status.EMB_ERR_INVALID_ARGUMENT


def test_tokenizer_only_model(tmp_path):
    out = str(tmp_path / "tok.h5")
    libemb.convert(os.path.join(FIXTURES, "bert-e5"), out, tokenizer_only=True)
    with libemb.Model(out) as m:
        assert m.dim == 0
        assert m.tokenize("hello")[0] == 101
        with pytest.raises(libemb.EmbError) as e:
            m.encode(["hello"])
        assert e.value.status == libemb.Status.EMB_ERR_NO_WEIGHTS


def test_convert_errors_leave_no_file(tmp_path):
    out = tmp_path / "out.h5"
    with pytest.raises(libemb.EmbError) as e:
        libemb.convert(str(tmp_path / "no-such-folder"), str(out))
    assert e.value.status == libemb.Status.EMB_ERR_IO
    assert not out.exists()
    with pytest.raises(libemb.EmbError) as e:
        libemb.convert(os.path.join(FIXTURES, "bert-e5"), str(out), pooling="median")
    assert e.value.status == libemb.Status.EMB_ERR_INVALID_ARGUMENT
    assert not out.exists() and os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        libemb.convert(os.path.join(FIXTURES, "bert-e5"), str(out), dtype="f8")


def test_convert_strip(tmp_path):
    """strip: default as sentence-transformers 5.4+ (the input as is), True as
    up to 5.3 (str.strip()); with a template it is refused, leaving no file."""
    src = os.path.join(FIXTURES, "roberta-st")  # byte-level BPE: spaces are tokens
    text = " \u3000hi there\t"
    paths = {}
    for strip in (None, False, True):
        paths[strip] = libemb.convert(src, str(tmp_path / ("s%s.h5" % strip)), strip=strip)
    with libemb.Model(paths[None]) as a, libemb.Model(paths[False]) as b, \
            libemb.Model(paths[True]) as c:
        assert a.metadata["strip"] == "false" and c.metadata["strip"] == "true"
        assert a.tokenize(text, kind="none") == b.tokenize(text, kind="none")
        assert c.tokenize(text, kind="none") == c.tokenize("hi there", kind="none")
        assert c.tokenize(text, kind="none") != a.tokenize(text, kind="none")
        assert c.encode([text]).tobytes() == c.encode(["hi there"]).tobytes()
        assert a.encode([text]).tobytes() != c.encode([text]).tobytes()
    out = tmp_path / "bad.h5"
    with pytest.raises(libemb.EmbError) as e:
        libemb.convert(src, str(out), strip=True, template="[{text}]")
    assert e.value.status == libemb.Status.EMB_ERR_INVALID_ARGUMENT
    assert not out.exists()


def test_unknown_status_is_kept_as_int():
    err = libemb.EmbError(99, "future")
    assert err.status == 99 and err.status_name == "EMB_STATUS_99"


def test_library_not_found(tmp_path):
    with pytest.raises(libemb.LibraryNotFoundError) as e:
        libemb.Model(library=str(tmp_path / "libemb.so.1"))
    assert "libemb.so.1" in str(e.value)
    assert isinstance(e.value, OSError)
    not_emb = tmp_path / "libnotemb.so"
    not_emb.write_bytes(b"garbage")
    with pytest.raises(libemb.LibraryNotFoundError):
        libemb.cosine([1.0], [1.0], library=str(not_emb))
