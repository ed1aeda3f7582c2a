#!/usr/bin/env python3
"""Embed a JSONL or Parquet corpus on a Ray cluster with libemb (docs/scale.md).

    python3 examples/ray_embed.py -m MODEL.h5 --input corpus.jsonl --out vectors/
    python3 examples/ray_embed.py -m MODEL.h5 --input corpus.jsonl --out vectors.h5

--input  a JSONL file ({"id": ..., "text": ...} per line; see --id-field,
         --text-field) or a Parquet file or directory with those columns
--out    a directory: Parquet shards (columns id, text unless --no-text,
         embedding = fixed_size_list<float32>[dim]), one or more per block;
         a name ending in .h5: one vectors file in the layout of
         docs/format.md (ids, vectors, texts, the model's identity), written
         under a temporary name and renamed when complete, so `emb search
         --index` and h5py read it
--address  the cluster (ray start --head ... on one node, ray start --address
         on the others; default: $RAY_ADDRESS, else a local cluster)

The model file must be readable at the same path on every node. Ids are kept
as text (a JSON number as its integer/float text); rows stay in input order.
"""

import argparse
import hashlib
import os
import sys
import time

import numpy as np


def sha256_of(paths):
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def input_files(path):
    if os.path.isdir(path):
        return sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith(".parquet"))
    return [path]


def read_corpus(ray, args):
    if args.input.endswith((".jsonl", ".json", ".ndjson")):
        ds = ray.data.read_json(args.input, lines=True)
    else:
        ds = ray.data.read_parquet(args.input)
    missing = [c for c in (args.id_field, args.text_field) if c not in ds.schema().names]
    if missing:
        sys.exit("ray_embed: %s: no field %s (fields: %s)"
                 % (args.input, ", ".join(missing), ", ".join(ds.schema().names)))
    if args.id_field != "id" or args.text_field != "text":
        ds = ds.rename_columns({args.id_field: "id", args.text_field: "text"})
    return ds.select_columns(["id", "text"])


def ids_as_text(batch):
    batch["id"] = np.array([str(i) for i in batch["id"].tolist()], dtype=object)
    return batch


def write_h5(ds, count, args, libemb):
    """The vectors file of docs/format.md, filled in input order."""
    import h5py
    with libemb.Model(args.model, threads=1) as m:
        meta, dim = m.metadata, m.dim
        probe = m.encode(["libemb model probe"])[0]
    kind = args.kind or "none"
    prompt = meta.get("prompt." + kind if kind != "none" else "prompt.default", "")
    tmp = args.out + ".tmp"
    try:
        fill_h5(h5py, tmp, ds, count, dim, meta, probe, kind, prompt, args, libemb)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, args.out)


def fill_h5(h5py, tmp, ds, count, dim, meta, probe, kind, prompt, args, libemb):
    with h5py.File(tmp, "w") as f:
        attrs = f.attrs
        attrs.create("emb_vectors_version", 1, dtype=np.int32)
        attrs.create("count", count, dtype=np.uint64)
        attrs.create("dim", dim, dtype=np.uint64)
        attrs["model_source"] = meta.get("source", "")
        attrs["model_sha256"] = sha256_of([args.model])
        attrs["model_dtype"] = meta.get("weights_dtype", "")
        attrs.create("model_probe", probe, dtype=np.float32)
        attrs["model_path"] = args.model
        attrs["kind"] = kind
        attrs["prompt"] = prompt
        attrs.create("normalized", 1 if meta.get("normalize") == "true" else 0, dtype=np.int32)
        attrs.create("truncate", 1, dtype=np.int32)
        attrs["input_sha256"] = sha256_of(input_files(args.input))
        attrs["libemb_version"] = libemb.version()
        text = h5py.string_dtype("utf-8")
        ids = f.create_dataset("ids", (count,), dtype=text)
        vectors = f.create_dataset("vectors", (count, dim), dtype=np.float32)  # contiguous
        texts = None if args.no_text else f.create_dataset("texts", (count,), dtype=text)
        row = 0
        for batch in ds.iter_batches(batch_size=4096, batch_format="pyarrow"):
            n = batch.num_rows
            ids[row:row + n] = batch.column("id").to_pylist()
            flat = batch.column("embedding").combine_chunks().values.to_numpy()
            vectors[row:row + n] = flat.reshape(n, dim)
            if texts is not None:
                column = batch.column("text").to_pylist()
                for i, t in enumerate(column):
                    if "\x00" in t:
                        raise SystemExit("ray_embed: id %s: a text holding U+0000 cannot be an "
                                         "HDF5 string; use --no-text" % batch.column("id")[i])
                texts[row:row + n] = column
            row += n
        if row != count:
            raise RuntimeError("the corpus gave %d rows, counted %d" % (row, count))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-m", "--model", required=True, help="the .h5 model file (same path on every node)")
    p.add_argument("--input", required=True, help="JSONL file, or Parquet file or directory")
    p.add_argument("--out", required=True, help="a directory for Parquet shards, or NAME.h5")
    p.add_argument("--kind", choices=["query", "passage", "none"], default=None)
    p.add_argument("--id-field", default="id")
    p.add_argument("--text-field", default="text")
    p.add_argument("--no-text", action="store_true", help="do not store the texts")
    p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS "
                   "or a new local cluster)")
    p.add_argument("--workers", type=int, default=None, help="actors (default: cluster CPUs / "
                   "--cpus-per-worker)")
    p.add_argument("--cpus-per-worker", type=int, default=1, help="CPUs (= encode threads) per actor")
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args()
    args.model = os.path.abspath(args.model)
    args.input = os.path.abspath(args.input)

    import ray
    import ray.data
    import libemb
    import libemb.ray

    start = time.monotonic()
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True   # ids and vectors leave in input order
    ctx.enable_progress_bars = sys.stderr.isatty()
    ds = read_corpus(ray, args).map_batches(ids_as_text, batch_format="numpy")
    embedded = libemb.ray.embed_dataset(ds, args.model, kind=args.kind, workers=args.workers,
                                        cpus_per_worker=args.cpus_per_worker,
                                        batch_size=args.batch_size)
    if args.out.endswith(".h5"):
        count = ds.count()
        write_h5(embedded, count, args, libemb)
    else:
        if args.no_text:
            embedded = embedded.drop_columns(["text"])
        embedded.write_parquet(args.out)
        count = ray.data.read_parquet(args.out).count()
    seconds = time.monotonic() - start
    print("ray_embed: %d texts -> %s in %.1f s (%.1f texts/s, %d workers x %d CPUs)"
          % (count, args.out, seconds, count / seconds if seconds else 0.0,
             args.workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // args.cpus_per_worker),
             args.cpus_per_worker), file=sys.stderr)
    ray.shutdown()


if __name__ == "__main__":
    main()
