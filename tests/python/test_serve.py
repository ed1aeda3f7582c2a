"""`emb serve`: the OpenAI-compatible embeddings endpoint (docs/server.md).

Every test talks real HTTP (http.client) to `bin/emb serve` started as a
subprocess on 127.0.0.1 with --port 0, and compares the returned vectors
bitwise with `bin/emb embed --format f32` for the same texts and kind.
Run from the project root: `make test`, or
`PYTHONPATH=bindings/python EMB_BIN=bin/emb /usr/bin/python3 -m pytest -q tests/python`.
"""
import base64
import http.client
import json
import os
import re
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EMB = Path(os.environ.get("EMB_BIN", "bin/emb"))
if not EMB.is_absolute():
    EMB = ROOT / EMB
FIXTURE = ROOT / "tests" / "fixtures" / "models" / "bert-e5"
HOST = "127.0.0.1"  # loopback only, ever
MAX_BODY = 65536
MAX_INPUTS = 64
TIMEOUT = 60  # seconds for any one request or subprocess

WORDS = ("the quick brown fox jumps over a lazy dog while seven green birds sing about "
         "rivers mountains cities music water light paper stone garden winter summer").split()


def run(args, data=b""):
    p = subprocess.run([str(EMB), *args], input=data, capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0, f"emb {' '.join(args)} failed: {p.stderr.decode(errors='replace')}"
    return p.stdout


def jsonl(texts):
    return "".join(json.dumps(t) + "\n" for t in texts).encode()


def ref_vectors(model, texts, kind=None, prompt=None):
    """Vectors from `emb embed --format f32` (the C API), [n, dim] float32."""
    args = ["embed", "-m", model, "--jsonl", "--format", "f32"]
    if kind:
        args += ["--kind", kind]
    if prompt is not None:
        args += ["--prompt", prompt]
    out = run(args, jsonl(texts))
    return np.frombuffer(out, dtype="<f4").reshape(len(texts), -1)


def ref_token_counts(model, texts, kind="none"):
    """Tokens the model sees per text: prompt applied, specials, truncation."""
    out = run(["tokenize", "-m", model, "--jsonl", "--kind", kind, "--truncate"], jsonl(texts))
    return [len(json.loads(line)) for line in out.decode().splitlines()]


def assert_bitwise(got, want, what):
    got = np.asarray(got, dtype=np.float32)
    want = np.asarray(want, dtype=np.float32)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    diff = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
    assert diff.size == 0, (f"{what}: {diff.size} values differ; first at index {diff[0]}: "
                            f"got {got.flat[diff[0]]!r}, expected {want.flat[diff[0]]!r}")


class Server:
    """`emb serve` on 127.0.0.1 with --port 0; stop() always ends it."""

    def __init__(self, model, *args, tmp):
        self.err_path = tmp / f"serve-{time.monotonic_ns()}.err"
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            [str(EMB), "serve", "-m", model, "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self.err, stdin=subprocess.DEVNULL)
        try:
            line = self._read_line(30)
            m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", line)
            assert m, f"unexpected first line {line!r}; stderr: {self.stderr()}"
            self.port = int(m.group(1))
        except BaseException:
            self.stop()
            raise

    def _read_line(self, timeout):
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            assert left > 0, f"no 'listening on' line within {timeout}s; stderr: {self.stderr()}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 256)
                assert chunk, f"server exited early: {self.stderr()}"
                buf += chunk
        return buf.decode().strip()

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        return self.err_path.read_text(errors="replace")

    def connect(self):
        return http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.connect()
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            hdrs = {"Content-Type": "application/json"} if body is not None else {}
            hdrs.update(headers or {})
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, r, data
        finally:
            if conn is None:
                c.close()

    def embed(self, payload, conn=None):
        status, r, data = self.request("POST", "/v1/embeddings", payload, conn=conn)
        assert status == 200, f"status {status}: {data[:500]!r}"
        assert r.getheader("Content-Type") == "application/json"
        return json.loads(data)

    def stop(self, sig=signal.SIGTERM):
        """Send `sig`, wait up to 10 s, else kill; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()
        self.err.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "bert-e5.h5"
    run(["convert", str(FIXTURE), str(out)])
    return str(out)


@pytest.fixture(scope="module")
def dim(model):
    return json.loads(run(["info", "-m", model]))["dim"]


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    s = Server(model, "--max-body", str(MAX_BODY), "--max-inputs", str(MAX_INPUTS),
               tmp=tmp_path_factory.mktemp("serve-log"))
    try:
        yield s
    finally:
        code = s.stop()
    assert code == 0, f"exit status {code}; stderr: {s.stderr()}"


def vectors(resp):
    data = resp["data"]
    assert [d["index"] for d in data] == list(range(len(data)))
    return np.array([d["embedding"] for d in data], dtype=np.float32)


# ------------------------------------------------------------- endpoints

def test_health(server):
    status, r, data = server.request("GET", "/health")
    assert status == 200
    assert r.getheader("Content-Type") == "application/json"
    assert json.loads(data) == {"status": "ok"}
    status, r, data = server.request("HEAD", "/health")
    assert status == 200 and data == b""


def test_models(server):
    status, _, data = server.request("GET", "/v1/models")
    assert status == 200
    body = json.loads(data)
    assert body["object"] == "list"
    assert len(body["data"]) == 1
    m = body["data"][0]
    assert (m["id"], m["object"], m["owned_by"]) == ("bert-e5", "model", "libemb")
    assert isinstance(m["created"], int)
    status, _, data = server.request("GET", "/v1/models/bert-e5")
    assert status == 200
    assert json.loads(data) == m


def test_single_string(server, model, dim):
    text = "how do plants make food?"
    resp = server.embed({"model": "bert-e5", "input": text, "user": "ignored"})
    assert set(resp) == {"object", "data", "model", "usage"}
    assert resp["object"] == "list" and resp["model"] == "bert-e5"
    assert len(resp["data"]) == 1
    item = resp["data"][0]
    assert set(item) == {"object", "index", "embedding"}
    assert item["object"] == "embedding" and item["index"] == 0
    assert len(item["embedding"]) == dim
    assert_bitwise(vectors(resp), ref_vectors(model, [text]), "single string")
    n = ref_token_counts(model, [text])[0]
    assert resp["usage"] == {"prompt_tokens": n, "total_tokens": n}


def test_list_of_strings(server, model):
    long_text = " ".join(WORDS * 20)  # far over the model's 64 tokens: truncated
    texts = ["first text", "Second TEXT, with punctuation!", "", "a\u0000b", "naïve café über",
             "  padded  ", long_text, "first text"]
    resp = server.embed({"model": "x", "input": texts, "encoding_format": "float"})
    assert len(resp["data"]) == len(texts)
    assert_bitwise(vectors(resp), ref_vectors(model, texts), "list of strings")
    counts = ref_token_counts(model, texts)
    assert counts[6] == 64  # truncated as the library does by default
    assert resp["usage"]["prompt_tokens"] == sum(counts)
    assert resp["usage"]["total_tokens"] == sum(counts)


def test_base64(server, model, dim):
    texts = ["base64 please", "another one"]
    resp = server.embed({"input": texts, "encoding_format": "base64"})
    got = [np.frombuffer(base64.b64decode(d["embedding"], validate=True), dtype="<f4")
           for d in resp["data"]]
    assert all(g.size == dim for g in got)
    assert_bitwise(np.stack(got), ref_vectors(model, texts), "base64")


def test_dimensions(server, model, dim):
    texts = ["matryoshka doll", "short vectors"]
    ref = ref_vectors(model, texts).astype(np.float64)
    for k in (1, 8, dim - 1):
        for fmt in ("float", "base64"):
            resp = server.embed({"input": texts, "dimensions": k, "encoding_format": fmt})
            if fmt == "float":
                got = vectors(resp)
            else:
                got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4")
                                for d in resp["data"]])
            assert got.shape == (2, k)
            want = ref[:, :k] / np.linalg.norm(ref[:, :k], axis=1, keepdims=True)
            worst = np.abs(got - want).max()
            assert worst <= 1e-6, f"dimensions={k} {fmt}: worst abs diff {worst}"
            norms = np.linalg.norm(got.astype(np.float64), axis=1)
            assert np.abs(norms - 1).max() <= 1e-5, f"dimensions={k}: norms {norms}"
    # the full dimension leaves the vectors as they are
    resp = server.embed({"input": texts, "dimensions": dim})
    assert_bitwise(vectors(resp), ref.astype(np.float32), "dimensions=dim")
    for bad in (0, -3, dim + 1, "8", 2.5):
        status, _, data = server.request("POST", "/v1/embeddings", {"input": "x", "dimensions": bad})
        assert status == 400, f"dimensions={bad!r}: {status}"
        assert json.loads(data)["error"]["param"] == "dimensions"


def test_kind_and_prompt(server, model):
    texts = ["what is a fox?", "foxes are small"]
    for kind in ("query", "passage", "none"):
        resp = server.embed({"input": texts, "kind": kind})
        assert_bitwise(vectors(resp), ref_vectors(model, texts, kind=kind), f"kind={kind}")
        assert resp["usage"]["prompt_tokens"] == sum(ref_token_counts(model, texts, kind))
    prompt = "Represent this sentence: "
    resp = server.embed({"input": texts, "prompt": prompt, "kind": "query"})
    assert_bitwise(vectors(resp), ref_vectors(model, texts, prompt=prompt), "prompt")
    # bert-e5 has no prompt for kind none, so prompt + text counts exactly
    want = sum(ref_token_counts(model, [prompt + t for t in texts], "none"))
    assert resp["usage"]["prompt_tokens"] == want


def test_chunked_upload(server, model):
    body = json.dumps({"input": ["sent in chunks", "second"]}).encode()
    c = server.connect()
    try:
        parts = [body[i:i + 7] for i in range(0, len(body), 7)]
        c.request("POST", "/v1/embeddings", body=iter(parts), encode_chunked=True,
                  headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        r = c.getresponse()
        data = r.read()
        assert r.status == 200, data
        assert_bitwise(vectors(json.loads(data)), ref_vectors(model, ["sent in chunks", "second"]),
                       "chunked")
    finally:
        c.close()


# ---------------------------------------------------------------- errors

def assert_error(status, data, want_status, param=None, code=None):
    assert status == want_status, f"status {status}, expected {want_status}: {data[:300]!r}"
    body = json.loads(data)
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    assert err["type"] == "invalid_request_error"
    if param is not None:
        assert err["param"] == param
    if code is not None:
        assert err["code"] == code
    return err


@pytest.mark.parametrize("body,code", [
    (b'{"input": "unterminated', "invalid_json"),
    (b"", "invalid_json"),
    (b"not json", "invalid_json"),
    (b'"just a string"', "invalid_json"),
    (b'[{"input": "x"}]', "invalid_json"),
    (b'{"input": "caf\xe9"}', "invalid_utf8"),
    (b'{"input": ["ok", "\xff\xfe"]}', "invalid_utf8"),
    (b'{"input": "\xed\xa0\x80"}', "invalid_utf8"),  # an encoded surrogate
    (b'{"input": "\\ud800"}', "invalid_json"),  # an escaped lone surrogate
])
def test_bad_body_is_400(server, body, code):
    status, _, data = server.request("POST", "/v1/embeddings", body)
    assert_error(status, data, 400, code=code)


@pytest.mark.parametrize("payload,param", [
    ({}, "input"),
    ({"input": None}, "input"),
    ({"input": []}, "input"),
    ({"input": 5}, "input"),
    ({"input": ["ok", None]}, "input"),
    ({"input": ["ok", {"text": "x"}]}, "input"),
    ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
    ({"input": "x", "kind": "sideways"}, "kind"),
    ({"input": "x", "prompt": 3}, "prompt"),
    ({"input": "x", "model": 3}, "model"),
])
def test_bad_request_is_400(server, payload, param):
    status, _, data = server.request("POST", "/v1/embeddings", payload)
    assert_error(status, data, 400, param=param)


def ref_token_ids(model, texts, kind="none", truncate=True):
    """Ids from `emb tokenize` (prompt for `kind`, specials, truncation)."""
    args = ["tokenize", "-m", model, "--jsonl", "--kind", kind] + (["--truncate"] if truncate else [])
    out = run(args, jsonl(texts))
    return [json.loads(line) for line in out.decode().splitlines()]


def test_token_arrays(server, model):
    long_text = " ".join(WORDS * 20)  # over 64 tokens: `emb tokenize --truncate` cuts it
    texts = ["how do plants make food?", "naïve café über", "", long_text, "a\u0000b"]
    for kind in ("none", "query", "passage"):
        ids = ref_token_ids(model, texts, kind)
        want = ref_vectors(model, texts, kind=kind)
        resp = server.embed({"input": ids})  # no "kind": the ids already carry the prompt
        assert_bitwise(vectors(resp), want, f"token arrays ({kind})")
        n = sum(len(x) for x in ids)
        assert resp["usage"] == {"prompt_tokens": n, "total_tokens": n}
        # one flat array is one input
        resp = server.embed({"input": ids[0], "encoding_format": "base64"})
        got = np.frombuffer(base64.b64decode(resp["data"][0]["embedding"]), dtype="<f4")
        assert_bitwise(got[None], want[:1], f"one token array ({kind})")
        assert resp["usage"]["prompt_tokens"] == len(ids[0])
    # the ids are used as given: no prompt is added (bert-e5's query prompt is "query: ")
    plain = ref_token_ids(model, ["how do plants make food?"], "none")
    resp = server.embed({"input": plain})
    assert_bitwise(vectors(resp), ref_vectors(model, ["how do plants make food?"], kind="none"), "as given")


def test_token_arrays_with_default_kind(model, tmp_path):
    # the server's --kind applies to texts, never to token ids
    s = Server(model, "--kind", "query", tmp=tmp_path)
    try:
        ids = ref_token_ids(model, ["plants"], "none")
        assert_bitwise(vectors(s.embed({"input": ids})), ref_vectors(model, ["plants"], kind="none"),
                       "token ids under --kind query")
    finally:
        assert s.stop() == 0, s.stderr()


def test_token_arrays_in_concurrent_batches(server, model):
    """Token requests and text requests sent at once share the worker's rounds."""
    texts = [" ".join(WORDS[i:i + 4 + i % 5]) for i in range(16)]
    ids = ref_token_ids(model, texts, "query")
    want = ref_vectors(model, texts, kind="query")
    results, errors = {}, []

    def client(i):
        try:
            conn = server.connect()
            try:
                payload = {"input": ids[i:i + 2]} if i % 2 else {"input": texts[i:i + 2], "kind": "query"}
                results[i] = vectors(server.embed(payload, conn=conn))
            finally:
                conn.close()
        except Exception as e:  # reported below
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(0, 16, 2)]
    threads += [threading.Thread(target=client, args=(i,), daemon=True) for i in range(1, 16, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not errors, errors[:3]
    for i, got in results.items():
        assert_bitwise(got, want[i:i + 2], f"client {i}")
    assert len(results) == 16


@pytest.mark.parametrize("payload,param,code,words", [
    ({"input": [[]]}, "input", "invalid_value", "empty token array"),
    ({"input": [[101, 102], []]}, "input", "invalid_value", "'input[1]' is an empty"),
    ({"input": [101, -1, 102]}, "input", "invalid_value", "outside the model's vocabulary"),
    ({"input": [[101, 102], [101, 1 << 40, 102]]}, "input", "invalid_value", "'input[1][1]'"),
    ({"input": [[101, 10 ** 7, 102]]}, "input", "invalid_input", "outside the vocabulary"),
    ({"input": [101] + [1037] * 70 + [102]}, "input", "context_length_exceeded", "cannot be truncated"),
    ({"input": [[101, 102], [101] + [1037] * 64 + [102]]}, "input", "context_length_exceeded",
     "'input[1]' has 66 tokens; this model accepts at most 64"),
    ({"input": [101, "x"]}, "input", "invalid_type", "'input[1]' is not an integer"),
    ({"input": [101, 2.5]}, "input", "invalid_type", "not an integer"),
    ({"input": [[101, 102], "x"]}, "input", "invalid_type", "'input[1]' is not an array"),
    ({"input": [[101, 102], [[101]]]}, "input", "invalid_type", "'input[1][0]' is not an integer"),
    ({"input": ["x", 5]}, "input", "invalid_type", "'input[1]' must be a string"),
    ({"input": ["x", [101, 102]]}, "input", "invalid_type", "'input[1]' must be a string"),
    ({"input": [[101, 102]], "prompt": "query: "}, "prompt", "invalid_value", "used as given"),
    ({"input": [101, 102], "kind": "query"}, "kind", "invalid_value", "used as given"),
    ({"input": [[101]] * (MAX_INPUTS + 1)}, "input", "too_many_inputs", "at most"),
])
def test_bad_token_arrays_are_400(server, payload, param, code, words):
    status, _, data = server.request("POST", "/v1/embeddings", payload)
    err = assert_error(status, data, 400, param=param, code=code)
    assert words in err["message"], err["message"]


def test_too_many_inputs(server, model):
    status, _, data = server.request("POST", "/v1/embeddings",
                                     {"input": ["x"] * (MAX_INPUTS + 1)})
    assert_error(status, data, 400, param="input", code="too_many_inputs")
    resp = server.embed({"input": ["x"] * MAX_INPUTS})  # the limit itself is fine
    assert len(resp["data"]) == MAX_INPUTS


def test_body_too_large(server, model):
    big = {"input": "y " * MAX_BODY}
    c = server.connect()
    try:
        status, _, data = server.request("POST", "/v1/embeddings", big, conn=c)
        assert_error(status, data, 413, code="request_too_large")
        # the same connection still serves (the body was read and dropped)
        resp = server.embed({"input": "after 413"}, conn=c)
        assert_bitwise(vectors(resp), ref_vectors(model, ["after 413"]), "after 413")
    finally:
        c.close()
    # chunked, without Content-Length
    c = server.connect()
    try:
        body = json.dumps(big).encode()
        c.request("POST", "/v1/embeddings", body=iter([body[i:i + 8192] for i in
                                                       range(0, len(body), 8192)]),
                  encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
        r = c.getresponse()
        assert_error(r.status, r.read(), 413)
    finally:
        c.close()
    # a client that waits for "100 Continue" is answered before it sends the body
    c = server.connect()
    try:
        c.putrequest("POST", "/v1/embeddings")
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(MAX_BODY + 1))
        c.putheader("Expect", "100-continue")
        c.endheaders()
        r = c.getresponse()
        assert_error(r.status, r.read(), 413)
    finally:
        c.close()
    # exactly --max-body bytes is accepted
    body = b'{"input": "' + b"z" * (MAX_BODY - 14) + b'"}'
    assert len(body) == MAX_BODY - 1
    status, _, data = server.request("POST", "/v1/embeddings", body + b" ")
    assert status == 200, data[:300]


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/v1/embeddings", "POST"),
    ("PUT", "/v1/embeddings", "POST"),
    ("POST", "/health", "GET, HEAD"),
    ("DELETE", "/v1/models", "GET, HEAD"),
])
def test_wrong_method_is_405(server, method, path, allow):
    status, r, data = server.request(method, path, b"{}" if method != "GET" else None)
    assert_error(status, data, 405)
    assert r.getheader("Allow") == allow


@pytest.mark.parametrize("method,path", [
    ("GET", "/"), ("GET", "/nope"), ("POST", "/v1/embedding"), ("POST", "/v1/embeddings/x"),
    ("GET", "/v1/models/extra"),
])
def test_unknown_path_is_404(server, method, path):
    status, _, data = server.request(method, path, b"{}" if method == "POST" else None)
    assert_error(status, data, 404, code="not_found")


# ----------------------------------------------------------- concurrency

def test_concurrent_clients(server, model):
    """32 clients at once, each with its own keep-alive connection posting
    several requests; half ask for queries, some for base64. Every vector
    must be bitwise the C API's, whatever batch the server put it in."""
    n_clients, n_requests, per_request = 32, 3, 4
    plan = {}  # (client, request) -> (kind, fmt, texts)
    for c in range(n_clients):
        for q in range(n_requests):
            texts = [" ".join(WORDS[(c * 7 + q * 3 + i * 5 + j) % len(WORDS)]
                              for j in range(3 + (c + i) % 9)) + f" {c} {q} {i}"
                     for i in range(per_request)]
            plan[c, q] = ("query" if c % 2 else "none", "base64" if c % 3 == 0 else "float",
                          texts)
    refs = {}
    for kind in ("none", "query"):
        keys = [k for k, v in plan.items() if v[0] == kind]
        flat = [t for k in keys for t in plan[k][2]]
        vec = ref_vectors(model, flat, kind=kind)
        for i, k in enumerate(keys):
            refs[k] = vec[i * per_request:(i + 1) * per_request]

    results, errors = {}, []
    barrier = threading.Barrier(n_clients, timeout=TIMEOUT)

    def client(c):
        try:
            conn = server.connect()
            try:
                barrier.wait()
                for q in range(n_requests):
                    kind, fmt, texts = plan[c, q]
                    resp = server.embed({"model": "bert-e5", "input": texts, "kind": kind,
                                         "encoding_format": fmt}, conn=conn)
                    if fmt == "base64":
                        got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]),
                                                      dtype="<f4") for d in resp["data"]])
                    else:
                        got = vectors(resp)
                    results[c, q] = got
            finally:
                conn.close()
        except Exception as e:  # reported below
            errors.append(f"client {c}: {e!r}")

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(n_clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 2 * TIMEOUT
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "clients did not finish in time"
    assert not errors, errors[:3]
    assert len(results) == n_clients * n_requests
    for k in sorted(plan):
        assert_bitwise(results[k], refs[k], f"client {k[0]} request {k[1]} ({plan[k][0]})")


# -------------------------------------------------------- options, shutdown

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_clean_shutdown_and_default_kind(model, tmp_path, sig):
    s = Server(model, "--kind", "query", "--model-name", "my-model", tmp=tmp_path)
    try:
        resp = s.embed({"input": "default kind"})
        assert resp["model"] == "my-model"
        assert_bitwise(vectors(resp), ref_vectors(model, ["default kind"], kind="query"),
                       "--kind query")
        status, _, data = s.request("GET", "/v1/models")
        assert json.loads(data)["data"][0]["id"] == "my-model"
        c = s.connect()  # an idle keep-alive connection must not hold up the shutdown
        s.request("GET", "/health", conn=c)
        code = s.stop(sig)
        c.close()
        assert code == 0, f"exit status {code}; stderr: {s.stderr()}"
        assert "shutting down" in s.stderr()
    finally:
        s.stop()


def test_shutdown_answers_request_in_flight(model, tmp_path):
    """A request that has begun when SIGTERM comes is still answered."""
    s = Server(model, tmp=tmp_path)
    try:
        texts = [f"in flight {i}" for i in range(40)]
        body = json.dumps({"input": texts}).encode()
        c = s.connect()
        c.putrequest("POST", "/v1/embeddings")
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(len(body)))
        c.putheader("Expect", "100-continue")
        c.endheaders()
        # "100 Continue" means the server's handler has the request: in flight
        c.sock.settimeout(TIMEOUT)
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = c.sock.recv(64)
            assert chunk, f"connection closed; got {interim!r}"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100"), interim
        c.send(body[:10])
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert s.proc.poll() is None, "the server did not wait for the request"
        c.send(body[10:])
        r = c.getresponse()
        data = r.read()
        c.close()
        assert r.status == 200, data[:300]
        assert_bitwise(vectors(json.loads(data)), ref_vectors(model, texts), "in flight")
        s.proc.wait(10)
        assert s.proc.returncode == 0, s.stderr()
    finally:
        s.stop()


def test_explicit_port(model, tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    p = subprocess.Popen([str(EMB), "serve", "-m", model, "--host", HOST, "--port", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 30)
        assert ready, "no output"
        assert p.stdout.readline().decode().strip() == f"listening on http://{HOST}:{port}"
        c = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
        c.request("GET", "/health")
        assert c.getresponse().status == 200
        c.close()
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
        p.stdout.close()


@pytest.mark.parametrize("args,code", [
    (["--port", "70000"], 2),
    (["--port", "-1"], 2),
    (["--kind", "sideways"], 2),
    (["--max-body", "0"], 2),
    (["--max-inputs", "0"], 2),
    (["--threads", "1025"], 2),  # above the library's cap (n_threads 0..1024)
    (["extra"], 2),
])
def test_bad_options(model, args, code):
    p = subprocess.run([str(EMB), "serve", "-m", model, *args], capture_output=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert p.returncode == code, p.stderr
    assert p.stdout == b""


def test_missing_model(tmp_path):
    p = subprocess.run([str(EMB), "serve", "-m", str(tmp_path / "none.h5"), "--port", "0"],
                       capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    assert p.stdout == b""
    assert b"cannot open model" in p.stderr
