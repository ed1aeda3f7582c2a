"""libemb.ray on a local Ray cluster of 2 CPUs: map_batches gives the vectors
of single-process `emb embed` bitwise, whatever the blocks, batch size, actor
count and batch format; ids stay with their rows and in order; each worker
opens the model once and encodes with the CPUs Ray gave it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ray = pytest.importorskip("ray")  # only collected with build/venv-ray's python
import ray.data  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import libemb  # noqa: E402
import libemb.ray  # noqa: E402
from embtest import ROOT, SCALE_IDS, SCALE_TEXTS, emb_bin, reference_vectors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class Probe(libemb.ray.Embedder):
    """An Embedder that also reports, per row, the worker's pid, its encode
    threads and how many times it opened the model."""

    def __call__(self, batch):
        out = super().__call__(batch)
        n = len(out["id"])
        out["pid"] = np.full(n, os.getpid())
        out["threads"] = np.full(n, self.threads)
        out["opened"] = np.full(n, self.opened)
        return out


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module: 2 CPUs, no dashboard; the workers
    find the binding, these tests and libemb.so.1 through absolute paths."""
    lib = os.path.abspath(os.environ.get("EMB_LIBRARY", os.path.join(ROOT, "lib", "libemb.so.1")))
    pythonpath = os.pathsep.join([os.path.join(ROOT, "bindings", "python"), HERE,
                                  os.path.join(ROOT, "bindings", "python", "tests")])
    os.environ["EMB_LIBRARY"] = lib
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": {"EMB_LIBRARY": lib, "PYTHONPATH": pythonpath}})
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def rows():
    return [{"id": i, "text": t} for i, t in zip(SCALE_IDS, SCALE_TEXTS)]


def check_bitwise(got, want, what):
    assert got.shape == want.shape, what
    if got.tobytes() != want.tobytes():
        worst = np.abs(got.astype(np.float64) - want).max()
        raise AssertionError("%s: vectors differ from emb embed, worst element by %g" % (what, worst))


@pytest.mark.parametrize("blocks,batch_size,workers,cpus", [
    (1, 64, 1, 2),   # one block, one 2-CPU worker: threads = 2
    (3, 5, 2, 1),    # two 1-CPU workers
    (7, 1, 2, 1),    # a batch per row
    (7, 16, 1, 1),
])
def test_map_batches_equals_single_process_bitwise(cluster, bert_e5, blocks, batch_size, workers,
                                                   cpus):
    want = reference_vectors(bert_e5, SCALE_TEXTS, kind="passage")
    ds = ray.data.from_items(rows(), override_num_blocks=blocks)
    assert ds.materialize().num_blocks() == blocks
    out = ds.map_batches(Probe, fn_constructor_kwargs=dict(model_path=bert_e5, kind="passage"),
                         compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=cpus,
                         batch_size=batch_size).take_all()
    assert [r["id"] for r in out] == SCALE_IDS, "ids out of order"
    assert [r["text"] for r in out] == SCALE_TEXTS
    check_bitwise(np.stack([r["embedding"] for r in out]), want,
                  "%d blocks, batch_size %d, %d workers" % (blocks, batch_size, workers))
    pids = {r["pid"] for r in out}
    assert 1 <= len(pids) <= workers
    assert {r["opened"] for r in out} == {1}, "a worker opened the model more than once"
    assert {r["threads"] for r in out} == {cpus}, "threads are not the worker's num_cpus"


def test_embed_dataset_arrow_column_and_parquet(cluster, bert_e5, tmp_path):
    want = reference_vectors(bert_e5, SCALE_TEXTS, kind="query")
    ds = ray.data.from_items(rows(), override_num_blocks=3)
    out = libemb.ray.embed_dataset(ds, bert_e5, kind="query", batch_size=8, out_column="vec")
    out.write_parquet(str(tmp_path / "shards"))
    table = pq.read_table(str(tmp_path / "shards"))
    assert table.schema.field("vec").type == pa.list_(pa.float32(), want.shape[1])
    order = np.argsort(table.column("id").to_pylist())
    ids = np.array(table.column("id").to_pylist())[order]
    assert list(ids) == sorted(SCALE_IDS)
    vec = table.column("vec").combine_chunks()
    got = vec.values.to_numpy().reshape(len(vec), -1)[order]
    check_bitwise(got, want[np.argsort(SCALE_IDS)], "embed_dataset, parquet shards")


def test_pandas_batches_and_no_ray_import_in_the_binding(cluster, bert_e5):
    want = reference_vectors(bert_e5, SCALE_TEXTS, kind=None)
    out = ray.data.from_items(rows(), override_num_blocks=2).map_batches(
        libemb.ray.Embedder, fn_constructor_kwargs=dict(model_path=bert_e5),
        compute=ray.data.ActorPoolStrategy(size=1), batch_format="pandas", batch_size=9).take_all()
    check_bitwise(np.stack([r["embedding"] for r in out]), want, "pandas batches")
    code = "import sys, libemb, libemb.ray; print('ray' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python")))
    assert proc.stdout.split() == ["False"], proc.stderr


def run_example(cluster, args):
    """examples/ray_embed.py as a second driver on the module's cluster."""
    env = dict(os.environ, RAY_ADDRESS=cluster,
               PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "ray_embed.py")] + args,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = [line for line in proc.stderr.splitlines() if line.startswith("ray_embed: ")]
    assert len(summary) == 1 and " texts -> " in summary[0], proc.stderr[-3000:]
    return summary[0]


def write_corpus(path, texts):
    # ids as JSON numbers and strings: both come back as their text
    ids = [int(i[4:]) if n % 2 else i for n, i in enumerate(SCALE_IDS[:len(texts)])]
    with open(path, "w", encoding="utf-8") as f:
        for i, t in zip(ids, texts):
            f.write(json.dumps({"key": i, "body": t}) + "\n")
    return [str(i) for i in ids]


def test_example_writes_the_vectors_file_layout(cluster, bert_e5, tmp_path):
    import hashlib
    import h5py
    texts = [t for t in SCALE_TEXTS if "\x00" not in t]  # HDF5 strings cannot hold U+0000
    want = reference_vectors(bert_e5, texts, kind="passage")
    ids = write_corpus(tmp_path / "corpus.jsonl", texts)
    out = tmp_path / "vectors.h5"
    summary = run_example(cluster, ["-m", bert_e5, "--input", str(tmp_path / "corpus.jsonl"),
                                    "--out", str(out), "--kind", "passage", "--id-field", "key",
                                    "--text-field", "body", "--batch-size", "7"])
    assert summary.startswith("ray_embed: %d texts -> " % len(texts))
    assert sorted(os.listdir(tmp_path)) == ["corpus.jsonl", "vectors.h5"]  # no temporary left
    with h5py.File(out, "r") as f:
        a = f.attrs
        assert int(a["emb_vectors_version"]) == 1
        assert int(a["count"]) == len(texts) and int(a["dim"]) == want.shape[1]
        assert a["kind"] == "passage" and a["prompt"] == "passage: "
        with open(bert_e5, "rb") as m:
            assert a["model_sha256"] == hashlib.sha256(m.read()).hexdigest()
        with open(tmp_path / "corpus.jsonl", "rb") as c:
            assert a["input_sha256"] == hashlib.sha256(c.read()).hexdigest()
        with libemb.Model(bert_e5) as m:
            assert a["model_probe"].tobytes() == m.encode(["libemb model probe"])[0].tobytes()
            assert a["model_source"] == m.metadata["source"]
        assert int(a["normalized"]) == 1 and int(a["truncate"]) == 1
        assert a["libemb_version"] == libemb.version()
        assert f["vectors"].chunks is None and f["vectors"].dtype == np.float32
        assert [s.decode() for s in f["ids"][:]] == ids
        assert [s.decode() for s in f["texts"][:]] == texts
        check_bitwise(f["vectors"][:], want, "examples/ray_embed.py --out .h5")


def test_example_writes_parquet_shards(cluster, bert_e5, tmp_path):
    want = reference_vectors(bert_e5, SCALE_TEXTS, kind="query")
    ids = write_corpus(tmp_path / "corpus.jsonl", SCALE_TEXTS)
    pq.write_table(pa.table({"id": ids, "text": SCALE_TEXTS}), tmp_path / "corpus.parquet")
    run_example(cluster, ["-m", bert_e5, "--input", str(tmp_path / "corpus.parquet"),
                          "--out", str(tmp_path / "shards"), "--kind", "query", "--no-text",
                          "--workers", "1"])
    table = pq.read_table(tmp_path / "shards")
    assert table.column_names == ["id", "embedding"]
    order = np.argsort(table.column("id").to_pylist(), kind="stable")
    assert [table.column("id").to_pylist()[i] for i in order] == sorted(ids)
    vec = table.column("embedding").combine_chunks()
    got = vec.values.to_numpy().reshape(len(vec), -1)[order]
    check_bitwise(got, want[np.argsort(ids, kind="stable")], "examples/ray_embed.py parquet shards")


def test_same_vectors_file_as_emb_embed_out(cluster, bert_e5, tmp_path):
    """map_batches and the example against the bulk path: `emb embed --input
    --out` read with h5py; and `emb search --index` reads the example's file."""
    import h5py
    texts = [t for t in SCALE_TEXTS if "\x00" not in t]
    ids = write_corpus(tmp_path / "corpus.jsonl", texts)
    bulk = tmp_path / "bulk.h5"
    subprocess.run([emb_bin(), "embed", "-m", bert_e5, "--kind", "passage", "--input",
                    str(tmp_path / "corpus.jsonl"), "--out", str(bulk), "--id-field", "key",
                    "--text-field", "body", "--batch", "3"], check=True, capture_output=True)
    with h5py.File(bulk, "r") as f:
        want_ids = [s.decode() for s in f["ids"][:]]
        want = f["vectors"][:]
        want_attrs = dict(f.attrs)
    assert want_ids == ids
    out = ray.data.from_items([{"id": i, "text": t} for i, t in zip(ids, texts)],
                              override_num_blocks=7).map_batches(
        libemb.ray.Embedder, fn_constructor_kwargs=dict(model_path=bert_e5, kind="passage"),
        compute=ray.data.ActorPoolStrategy(size=2), num_cpus=1, batch_size=4).take_all()
    assert [r["id"] for r in out] == want_ids
    check_bitwise(np.stack([r["embedding"] for r in out]), want, "map_batches vs emb embed --out")

    mine = tmp_path / "ray.h5"
    run_example(cluster, ["-m", bert_e5, "--input", str(tmp_path / "corpus.jsonl"), "--out",
                          str(mine), "--kind", "passage", "--id-field", "key", "--text-field", "body"])
    with h5py.File(mine, "r") as f:
        assert [s.decode() for s in f["ids"][:]] == want_ids
        check_bitwise(f["vectors"][:], want, "examples/ray_embed.py vs emb embed --out")
        for key, value in f.attrs.items():
            assert key in want_attrs, "attribute %s not in emb embed's file" % key
            assert np.array_equal(np.asarray(value), np.asarray(want_attrs[key])), key
    hits = subprocess.run([emb_bin(), "search", "-m", bert_e5, "--index", str(mine), "--top", "3",
                           "--jsonl", texts[0]], check=True, capture_output=True, text=True).stdout
    top = [json.loads(line) for line in hits.splitlines()]
    assert len(top) == 3 and [h["score"] for h in top] == sorted((h["score"] for h in top),
                                                                 reverse=True)
    assert all(h["text"] == texts[ids.index(h["id"])] for h in top), top
