"""Scale-out on Ray Data: embed a Dataset's text column on every worker.

    import ray, libemb.ray
    ds = ray.data.read_json("corpus.jsonl")            # {"id": ..., "text": ...}
    ds = libemb.ray.embed_dataset(ds, "/shared/all-MiniLM-L6-v2.h5", kind="passage")
    ds.write_parquet("vectors/")                       # id, text, embedding

or, calling map_batches yourself:

    ds.map_batches(libemb.ray.Embedder,
                   fn_constructor_kwargs=dict(model_path=path, kind="passage"),
                   compute=ray.data.ActorPoolStrategy(size=4), num_cpus=2,
                   batch_size=256, batch_format="pyarrow")

Each Ray worker (an actor of the pool) opens the model file once, from its
path: only the path and the options cross processes, never a model handle
(an Embedder pickles without its model and opens it again where it lands).
The vectors are bitwise those of `emb embed` and of libemb.Model.encode on
one process, whatever the blocks, batches and threads (docs/scale.md).

This module imports without Ray: Ray is only needed to run a Dataset; an
Embedder can also be called on a batch directly. Nothing else in the binding
imports it. See docs/scale.md.
"""

import os
import sys

from .model import Model, _kind_value

__all__ = ["Embedder", "embed_dataset", "worker_cpus"]


def _affinity_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def worker_cpus():
    """The CPUs this process should use for encoding.

    Inside a Ray worker: the CPUs Ray reserved for it (the actor's or task's
    num_cpus, from ray.get_runtime_context().get_assigned_resources()),
    rounded down, at least 1 and at most the CPUs of the affinity mask.
    Elsewhere, or when Ray reserved no CPU: the affinity mask
    (os.sched_getaffinity), as libemb itself would choose.
    """
    mask = _affinity_cpus()
    ray = sys.modules.get("ray")  # never imported here: only looked at when in use
    if ray is not None and getattr(ray, "is_initialized", lambda: False)():
        try:
            assigned = ray.get_runtime_context().get_assigned_resources().get("CPU", 0.0)
        except Exception:  # the driver, or a Ray without the call
            assigned = 0.0
        if assigned > 0:
            return max(1, min(int(assigned), mask))
    return mask


class Embedder:
    """A callable for Dataset.map_batches: adds a column of vectors.

    Embedder(model_path, kind=None, text_column="text", out_column="embedding",
             threads=None, prompt=None, truncate=True, compute="f32", library=None)
      model_path   the .h5 model file, readable at this path on every node
                   (shared storage, or the same path copied to each node)
      kind         "query", "passage" or None/"none" (libemb.Model.encode)
      text_column  the column holding the texts (str or UTF-8 bytes)
      out_column   the column written (replaced when present)
      threads      encode threads; None: worker_cpus(), i.e. the CPUs Ray
                   gave this worker (map_batches' num_cpus)
      prompt, truncate, compute, library   as for libemb.Model / encode

    A batch is a dict of NumPy arrays (batch_format="numpy", Ray's default):
    the vectors come back as a float32 array (rows, dim); a pyarrow.Table
    (batch_format="pyarrow"): as a fixed_size_list<float32>[dim] column; a
    pandas.DataFrame: as one float32 array per row. Other columns (ids, texts)
    pass through untouched and in their order.
    """

    def __init__(self, model_path, kind=None, text_column="text", out_column="embedding",
                 threads=None, prompt=None, truncate=True, compute="f32", library=None):
        if not isinstance(model_path, (str, bytes, os.PathLike)):
            raise TypeError("model_path must be a path (str or os.PathLike), not %s; a model "
                            "handle cannot cross processes" % type(model_path).__name__)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError("threads must be None or an int >= 1, not %r" % (threads,))
        _kind_value(kind)     # a bad kind fails here, not at the first batch
        self.model_path = os.fsdecode(model_path)
        self.kind = kind
        self.text_column = text_column
        self.out_column = out_column
        self.prompt = prompt
        self.truncate = truncate
        self.compute = compute
        self.library = library
        self._threads = threads
        self.threads = None   # set when the model is opened
        self.opened = 0       # how many times this object opened the model (1 per worker)
        self._model = None
        self._open()          # a bad path or option fails when the worker starts

    def _open(self):
        self.threads = self._threads if self._threads is not None else worker_cpus()
        self._model = Model(self.model_path, threads=self.threads, library=self.library,
                            compute=self.compute)
        self.opened += 1

    # the path and options travel, the handle does not
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        state["threads"] = None
        state["opened"] = 0
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    @property
    def dim(self):
        return self.model().dim

    def model(self):
        """The libemb.Model of this process (opened on first use after unpickling)."""
        if self._model is None:
            self._open()
        return self._model

    def close(self):
        if self._model is not None:
            self._model.close()
            self._model = None

    def _texts(self, column, rows):
        texts = list(column)
        for i, t in enumerate(texts):
            if not isinstance(t, (str, bytes)):
                raise TypeError("column %r row %d: a text must be str or bytes, not %s"
                                % (self.text_column, i, type(t).__name__))
        if len(texts) != rows:
            raise ValueError("column %r has %d values for %d rows" % (self.text_column,
                                                                      len(texts), rows))
        return texts

    def _encode(self, texts):
        return self.model().encode(texts, kind=self.kind, prompt=self.prompt,
                                   truncate=self.truncate)

    def _missing(self, names):
        return KeyError("no column %r in the batch (columns: %s)"
                        % (self.text_column, ", ".join(map(str, names))))

    def __call__(self, batch):
        if isinstance(batch, dict):                       # batch_format="numpy"
            if self.text_column not in batch:
                raise self._missing(batch.keys())
            column = batch[self.text_column]
            texts = self._texts(column.tolist() if hasattr(column, "tolist") else column,
                                len(column))
            out = dict(batch)
            out[self.out_column] = self._encode(texts)
            return out
        if hasattr(batch, "column_names") and hasattr(batch, "append_column"):  # pyarrow.Table
            import pyarrow as pa
            if self.text_column not in batch.column_names:
                raise self._missing(batch.column_names)
            texts = self._texts(batch.column(self.text_column).to_pylist(), batch.num_rows)
            vectors = self._encode(texts)
            flat = pa.array(vectors.reshape(-1), type=pa.float32())
            column = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
            if self.out_column in batch.column_names:
                return batch.set_column(batch.column_names.index(self.out_column),
                                        self.out_column, column)
            return batch.append_column(self.out_column, column)
        if hasattr(batch, "columns") and hasattr(batch, "assign"):  # pandas.DataFrame
            if self.text_column not in batch.columns:
                raise self._missing(batch.columns)
            texts = self._texts(batch[self.text_column].tolist(), len(batch))
            vectors = self._encode(texts)
            return batch.assign(**{self.out_column: list(vectors)})
        raise TypeError("a batch must be a dict of arrays, a pyarrow.Table or a "
                        "pandas.DataFrame, not %s" % type(batch).__name__)


def embed_dataset(dataset, model_path, kind=None, text_column="text", out_column="embedding",
                  workers=None, cpus_per_worker=1, batch_size=256, **embedder_options):
    """dataset.map_batches with an Embedder per worker; returns the new Dataset.

    workers          actors in the pool (None: from 1 up to the cluster's CPUs
                     divided by cpus_per_worker, as Ray Data sees fit; a fixed
                     pool that takes every CPU starves the tasks reading the
                     input, so leave a CPU to them)
    cpus_per_worker  CPUs Ray reserves for each actor; its encode threads
    batch_size       rows per call (vectors do not depend on it)
    The vectors column is fixed_size_list<float32>[dim] (pyarrow batches).
    """
    import ray.data  # needed here, and only here
    if workers is None:
        # an autoscaling pool: a fixed one holding every CPU would starve the
        # read tasks that feed it
        cpus = int(ray.cluster_resources().get("CPU", 1))
        pool = ray.data.ActorPoolStrategy(min_size=1,
                                          max_size=max(1, cpus // max(1, int(cpus_per_worker))))
    else:
        pool = ray.data.ActorPoolStrategy(size=workers)
    options = dict(embedder_options, model_path=model_path, kind=kind,
                   text_column=text_column, out_column=out_column)
    return dataset.map_batches(Embedder, fn_constructor_kwargs=options, compute=pool,
                               num_cpus=cpus_per_worker, batch_size=batch_size,
                               batch_format="pyarrow")
