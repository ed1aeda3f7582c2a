"""compare() and evaluate(): `emb compare` and `emb eval` from Python.

Both return plain dicts with the keys and values of the CLI's `--json`
output. The metrics are computed here, exactly as docs/evaluate.md defines
them and as src/cli/compare.c and src/cli/eval.c compute them: cosines
bitwise as emb_cosine() gives them (double-precision sums in dimension
order, rounded to float), pessimistic ties in compare, trec_eval's order
(score descending, then document id descending as bytes) in evaluate.
NumPy is used when it is installed; without it the same numbers come from
plain Python.
"""

import json
import math
import os
import struct
import time
import warnings

from . import _lib
from .model import Model, _np

__all__ = ["compare", "evaluate"]

# ------------------------------------------------------------------ models


def _is_model(obj):
    """A Model, or anything that encodes and tokenizes like one (used as given)."""
    return isinstance(obj, Model) or (hasattr(obj, "encode") and hasattr(obj, "tokenize"))


class _Opened:
    """A model argument as (name, model); models opened here are closed on exit."""

    def __init__(self, spec, library):
        self.own = not _is_model(spec)
        if self.own:
            self.model = Model(spec, library=library)  # None: the default model
            self.name = os.fsdecode(spec) if spec is not None else self.model.path
        else:
            self.model = spec
            self.name = getattr(spec, "path", None)

    def close(self):
        if self.own:
            self.model.close()


def _model_list(models):
    if models is None or _is_model(models) or isinstance(models, (str, bytes, os.PathLike)):
        return [models]
    out = list(models)
    if not out:
        raise ValueError("models: give at least one model (a path or a Model)")
    return out


# ----------------------------------------------------------- cosine (bitwise)

def _f32(x):
    """A double rounded to the nearest float32, as C's (float) cast does."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _cosine_rows(Q, D):
    """S[i][j] = emb_cosine(Q[i], D[j]) bitwise: each sum in double, in
    dimension order (the products of two floats are exact in double), then
    dot / (sqrt(|q|^2) * sqrt(|d|^2)) rounded to float; 0 when a vector is
    all zeros. Returns a float32 array (NumPy) or lists of floats."""
    if _np is not None:
        Q = _np.asarray(Q, dtype=_np.float32).astype(_np.float64)
        D = _np.asarray(D, dtype=_np.float32).astype(_np.float64)
        nq, nd, dim = Q.shape[0], D.shape[0], Q.shape[1] if Q.ndim == 2 else 0
        out = _np.zeros((nq, nd), dtype=_np.float32)
        if nq == 0 or nd == 0:
            return out

        def sumsq(X):
            acc = _np.zeros(X.shape[0])
            for k in range(dim):
                acc += X[:, k] * X[:, k]
            return acc
        sq, sd = sumsq(Q), sumsq(D)
        Dt = _np.ascontiguousarray(D.T)
        rows = max(1, (1 << 22) // max(nd, 1))  # bounded scratch: about 32 MB of doubles
        for a in range(0, nq, rows):
            b = min(nq, a + rows)
            dot = _np.zeros((b - a, nd))
            for k in range(dim):
                dot += _np.multiply.outer(Q[a:b, k], Dt[k])
            denom = _np.sqrt(sq[a:b])[:, None] * _np.sqrt(sd)[None, :]
            ok = (sq[a:b] > 0)[:, None] & (sd > 0)[None, :]
            with _np.errstate(divide="ignore", invalid="ignore"):
                out[a:b] = _np.where(ok, dot / _np.where(ok, denom, 1.0), 0.0).astype(_np.float32)
        return out

    def norm2(v):
        acc = 0.0
        for x in v:
            acc += x * x
        return acc
    sq = [norm2(q) for q in Q]
    sd = [norm2(d) for d in D]
    out = []
    for q, nq2 in zip(Q, sq):
        row = []
        for d, nd2 in zip(D, sd):
            if nq2 > 0 and nd2 > 0:
                dot = 0.0
                for x, y in zip(q, d):
                    dot += x * y
                row.append(_f32(dot / (math.sqrt(nq2) * math.sqrt(nd2))))
            else:
                row.append(0.0)
        out.append(row)
    return out


def _tolist(rows):
    return rows.tolist() if _np is not None and isinstance(rows, _np.ndarray) else rows


# ------------------------------------------------------------ shared helpers

def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s must be a whole number >= 1, not %r" % (name, value))
    return value


def _round(x, digits):
    """x as the CLI prints it with %.<digits>f (correctly rounded, as printf)."""
    return x if digits is None else float("%.*f" % (digits, x))


def _encode_timed(model, texts, kind, batch, out_rows):
    """Encode in calls of `batch` texts, appending the rows; returns the seconds
    spent inside encode() (the CLI's encode_seconds)."""
    seconds = 0.0
    for i in range(0, len(texts), batch):
        chunk = texts[i:i + batch]
        t0 = time.perf_counter()
        v = model.encode(chunk, kind=kind)
        seconds += time.perf_counter() - t0
        out_rows.append(v)
    return seconds


def _stack(parts, dim):
    if _np is not None:
        parts = [_np.asarray(p, dtype=_np.float32).reshape(-1, dim) for p in parts]
        return _np.concatenate(parts) if parts else _np.zeros((0, dim), dtype=_np.float32)
    return [list(row) for p in parts for row in p]


def _count_tokens(model, texts, kind):
    """Tokens the model runs: prompt for `kind`, specials, truncation."""
    return sum(len(model.tokenize(t, kind=kind, truncate=True)) for t in texts)


def _per_second(count, seconds):
    return count / seconds if seconds > 0 else 0.0


def _throughput(out, texts, tokens, seconds, digits):
    out["texts"] = texts
    out["tokens"] = tokens
    out["encode_seconds"] = _round(seconds, digits)
    out["texts_per_second"] = _round(_per_second(float(texts), seconds), None if digits is None else 1)
    out["tokens_per_second"] = _round(_per_second(float(tokens), seconds), None if digits is None else 1)
    return out


def _lines(path):
    """The lines of a file as bytes, split at b"\\n" only (as getline())."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


# ------------------------------------------------------------------ compare

def _pair_metrics(S):
    """The metrics of docs/evaluate.md from the n x n cosine matrix
    S[i][j] = cos(question i, answer j) (rows of float32 values), as
    cli_pair_metrics_compute: a tie with another answer counts against."""
    n = len(S)
    rel = irrel = rr = 0.0
    top1 = 0
    for i in range(n):
        row = S[i]
        own = row[i]
        ahead = 0
        for j in range(n):
            if j == i:
                continue
            irrel += row[j]
            if row[j] >= own:
                ahead += 1
        rel += own
        if ahead == 0:
            top1 += 1
        rr += 1.0 / (ahead + 1)
    mean_rel = rel / n if n else 0.0
    mean_irrel = irrel / (float(n) * float(n - 1)) if n > 1 else 0.0
    return {"mean_cos_relevant": mean_rel, "mean_cos_irrelevant": mean_irrel,
            "margin": mean_rel - mean_irrel,
            "accuracy_at_1": top1 / n if n else 0.0, "mrr": rr / n if n else 0.0}


def _read_pairs(path):
    """`question<TAB>answer` lines as (bytes, bytes), with emb compare's checks."""
    name = os.fsdecode(path)
    out = []
    for lineno, line in enumerate(_lines(path), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        why = None
        tab = line.find(b"\t")
        if line.strip(b" \t") == b"":
            why = "blank line"
        elif b"\0" in line:
            why = "contains a NUL byte"
        elif tab < 0:
            why = "no TAB: expected question<TAB>answer"
        elif b"\t" in line[tab + 1:]:
            why = "more than one TAB: expected question<TAB>answer"
        elif tab == 0:
            why = "empty question before the TAB"
        elif tab + 1 == len(line):
            why = "empty answer after the TAB"
        if why:
            raise ValueError("%s:%d: %s" % (name, lineno, why))
        out.append((line[:tab], line[tab + 1:]))
    return out


def _pairs_arg(pairs):
    if isinstance(pairs, (str, bytes, os.PathLike)):
        name = os.fsdecode(pairs)
        return name, _read_pairs(pairs)
    out = []
    for i, p in enumerate(pairs):
        if isinstance(p, (str, bytes)) or len(p) != 2:
            raise ValueError("pairs[%d] must be a (question, answer) pair" % i)
        for text, what in ((p[0], "question"), (p[1], "answer")):
            if not isinstance(text, (str, bytes)):
                raise TypeError("pairs[%d] %s must be str or bytes, not %s" % (i, what, type(text).__name__))
        out.append((p[0], p[1]))
    return None, out


def compare(models, pairs, batch=32, digits=6, library=None):
    """`emb compare` in Python: embedders side by side on question/answer pairs.

    models   a model file path or a Model, or a list of them (None: the
             default model, as Model())
    pairs    a pairs file (question<TAB>answer per line, checked as the CLI
             checks it), or a list of (question, answer) pairs of str/bytes
    batch    texts per encode() call (throughput only)
    digits   metrics rounded to this many decimals as `--json` prints them
             (encode_seconds too; texts/tokens per second to 1); None: full
             double precision

    Returns {"pairs_file", "pairs", "models": [{"model", "dim",
    "bytes_per_vector", "mean_cos_relevant", "mean_cos_irrelevant",
    "margin", "accuracy_at_1", "mrr", "texts", "tokens", "encode_seconds",
    "texts_per_second", "tokens_per_second"}, ...]}, the metrics defined in
    docs/evaluate.md ("pairs_file" is None for in-memory pairs). A bad pairs
    file raises ValueError naming the file and line; two identical answers
    give a warning (the tie is a miss for both questions).
    """
    _check_count(batch, "batch")
    specs = _model_list(models)
    pairs_file, items = _pairs_arg(pairs)
    if len(items) < 2:
        raise ValueError("%s: need at least 2 pairs (found %d)" % (pairs_file or "pairs", len(items)))
    questions = [q for q, _ in items]
    answers = [a for _, a in items]
    seen = {}
    for i, a in enumerate(answers):
        if a in seen:
            warnings.warn("%s: lines %d and %d have the same answer; the tie counts as a miss for "
                          "both questions" % (pairs_file or "pairs", seen[a] + 1, i + 1), stacklevel=2)
            break
        seen[a] = i
    n = len(items)
    results = []
    for spec in specs:
        opened = _Opened(spec, library)
        try:
            m = opened.model
            dim = m.dim
            tokens = _count_tokens(m, questions, "query") + _count_tokens(m, answers, "passage")
            m.encode(questions[:1], kind="query")  # untimed warm-up, as the CLI
            qparts, aparts = [], []
            seconds = _encode_timed(m, questions, "query", batch, qparts)
            seconds += _encode_timed(m, answers, "passage", batch, aparts)
            S = _tolist(_cosine_rows(_stack(qparts, dim), _stack(aparts, dim)))
        finally:
            opened.close()
        r = {"model": opened.name, "dim": dim, "bytes_per_vector": dim * 4}
        r.update({k: _round(v, digits) for k, v in _pair_metrics(S).items()})
        results.append(_throughput(r, 2 * n, tokens, seconds, digits))
    return {"pairs_file": pairs_file, "pairs": n, "models": results}


# ----------------------------------------------------------------- evaluate

def _rank(ids, scores, depth, exclude=None, id_order=None):
    """Document indices in trec_eval's order (comp_sim_docno): score
    descending, equal scores by id descending compared as bytes (strcmp);
    NaN scores as -1 (as BEIR); document `exclude` (an index) left out; the
    first `depth`. `ids` are bytes; `id_order` (NumPy path) is each id's
    position when the ids are sorted descending."""
    if _np is not None and id_order is not None:
        s = _np.asarray(scores, dtype=_np.float32).copy()
        s[_np.isnan(s)] = -1.0
        order = _np.lexsort((id_order, -s))
        if exclude is not None:
            order = order[order != exclude]
        return order[:depth].tolist()
    keys = [(-1.0 if math.isnan(s) else s, ids[i], i) for i, s in enumerate(scores) if i != exclude]
    keys.sort(key=lambda k: (k[0], k[1]), reverse=True)
    return [k[2] for k in keys[:depth]]


def _query_metrics(ranked_rel, judged):
    """nDCG@10, recall@10, recall@100, MRR@10 of one query (cli_ir_query_metrics):
    ranked_rel = grade of each ranked document (0 if not judged), judged =
    every grade judged for the query (documents missing from the corpus too)."""
    pos = sorted((g for g in judged if g >= 1), reverse=True)
    if not pos:  # as trec_eval: every measure stays 0
        return 0.0, 0.0, 0.0, 0.0
    dcg = idcg = 0.0
    for r, g in enumerate(ranked_rel[:10]):
        if g > 0:
            dcg += float(g) / math.log2(r + 2.0)
    for r, g in enumerate(pos[:10]):
        idcg += float(g) / math.log2(r + 2.0)
    hits, mrr, r10 = 0, 0.0, 0.0
    for r, g in enumerate(ranked_rel[:100]):
        if g < 1:
            continue
        hits += 1
        if r < 10 and mrr == 0:
            mrr = 1.0 / (r + 1)
        if r < 10:
            r10 = hits / len(pos)
    return dcg / idcg, r10, hits / len(pos), mrr


def _id_text(value):
    """An `_id`: a string, or an integer taken as its decimal text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and -(1 << 63) <= value < (1 << 63):
        return str(value)
    return None


def _read_jsonl(path, corpus):
    """[(id, text to embed, line)] of a BEIR corpus or queries file, checked as emb eval does."""
    name = os.fsdecode(path)
    out = []
    for lineno, line in enumerate(_lines(path), 1):
        j, err = None, ""
        try:
            j = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
            _strict_strings(j)
        except (UnicodeError, ValueError) as e:
            err = str(e)
        why = None
        jid = j.get("_id") if isinstance(j, dict) else None
        text = j.get("text") if isinstance(j, dict) else None
        title = j.get("title") if isinstance(j, dict) else None
        ident = _id_text(jid)
        if err:
            why = "blank line" if line.strip(b" \t\r\n") == b"" else "not valid JSON: " + err
        elif not isinstance(j, dict):
            why = "expected a JSON object"
        elif not ident:
            why = 'missing or empty "_id" (a string)'
        elif not isinstance(text, str):
            why = 'missing "text" (a string)'
        elif corpus and title is not None and not isinstance(title, str):
            why = '"title" must be a string'
        elif "\0" in ident:
            why = '"_id" contains U+0000'
        if why:
            raise ValueError("%s:%d: %s" % (name, lineno, why))
        out.append((ident, _passage(title, text) if corpus else text, lineno))
    if not out:
        raise ValueError("%s: no entries" % name)
    _check_unique(name, out)
    return out


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def _strict_strings(j):
    """Lone surrogates ("\\ud800") are not text: refused, as jansson does."""
    if isinstance(j, dict):
        for k in ("_id", "title", "text"):
            if isinstance(j.get(k), str):
                j[k].encode("utf-8")


def _passage(title, text):
    """What BEIR's SentenceBERT.encode_corpus embeds: (title + " " + text).strip()."""
    return ((title or "") + " " + text).strip()


def _check_unique(name, items):
    first = {}
    for ident, _, line in items:
        if ident in first:
            raise ValueError('%s:%d: duplicate "_id" \'%s\' (first on line %d)'
                             % (name, line, ident, first[ident]))
        first[ident] = line


def _items_arg(arg, corpus):
    """Corpus or queries: a JSONL path, BEIR's dict ({id: {"title", "text"}} /
    {id: text}) or a list of objects with "_id"."""
    what = "corpus" if corpus else "queries"
    if isinstance(arg, (str, bytes, os.PathLike)):
        return _read_jsonl(arg, corpus)
    entries = list(arg.items()) if isinstance(arg, dict) else None
    if entries is None:
        entries = []
        for i, obj in enumerate(arg):
            if not isinstance(obj, dict):
                raise ValueError("%s[%d] must be a dict with \"_id\"" % (what, i))
            entries.append((obj.get("_id"), obj))
    out = []
    for i, (key, value) in enumerate(entries):
        ident = _id_text(key)
        if not ident or "\0" in ident:
            raise ValueError("%s[%d]: the id %r must be a non-empty string (or an integer) without "
                             "U+0000" % (what, i, key))
        if corpus or isinstance(value, dict):
            if not isinstance(value, dict) or not isinstance(value.get("text"), str):
                raise ValueError("%s['%s'] needs a \"text\" string" % (what, ident))
            title = value.get("title")
            if corpus and title is not None and not isinstance(title, str):
                raise ValueError("%s['%s']: \"title\" must be a string" % (what, ident))
            text = _passage(title, value["text"]) if corpus else value["text"]
        elif isinstance(value, str):
            text = value
        else:
            raise ValueError("%s['%s'] must be a string" % (what, ident))
        out.append((ident, text, i + 1))
    if not out:
        raise ValueError("%s: no entries" % what)
    _check_unique(what, out)
    return out


_C_SPACE = b" \t\n\v\f\r"


def _strtol_grade(field):
    """strtol(field, &end, 10) with nothing after the number, within +-1e6; else None."""
    s = field.lstrip(_C_SPACE)
    digits = s[1:] if s[:1] in (b"+", b"-") else s
    if not digits or not digits.isdigit():
        return None
    value = int(s)
    return value if -1000000 <= value <= 1000000 else None


def _read_qrels(path, query_ids):
    """{query id: {doc id: grade}} of a BEIR qrels file, checked as emb eval does
    (header line skipped, a repeated pair keeps its last line)."""
    name = os.fsdecode(path)
    out = {}
    n = 0
    for lineno, raw in enumerate(_lines(path), 1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        why, grade = None, None
        parts = line.split(b"\t")
        if b"\0" in line:
            why = "contains a NUL byte"
        elif len(parts) != 3:
            why = "expected query-id<TAB>corpus-id<TAB>score"
        elif not parts[0] or not parts[1]:
            why = "empty query-id or corpus-id"
        else:
            grade = _strtol_grade(parts[2])
            if grade is None:
                why = "the score must be an integer"
        if lineno == 1:  # the header, skipped as BEIR does
            if not why:
                warnings.warn("%s:1 looks like a judgment, but the first line is the header and "
                              "is skipped" % name, stacklevel=3)
            continue
        if why:
            raise ValueError("%s:%d: %s" % (name, lineno, why))
        qid = parts[0].decode("utf-8", "surrogateescape")
        if qid not in query_ids:
            raise ValueError("%s:%d: query id '%s' is not in the queries file" % (name, lineno, qid))
        out.setdefault(qid, {})[parts[1].decode("utf-8", "surrogateescape")] = grade
        n += 1
    if n == 0:
        raise ValueError("%s: no judgments after the header line" % name)
    return out


def _qrels_arg(qrels, query_ids):
    if isinstance(qrels, (str, bytes, os.PathLike)):
        return _read_qrels(qrels, query_ids)
    out = {}
    for key, docs in qrels.items():
        qid = _id_text(key)
        if qid not in query_ids:
            raise ValueError("qrels: query id %r is not in the queries" % (key,))
        if not isinstance(docs, dict):
            raise ValueError("qrels[%r] must be a dict {doc id: grade}" % (key,))
        for doc, grade in docs.items():
            did = _id_text(doc)
            if not did:
                raise ValueError("qrels[%r]: the document id %r must be a non-empty string" % (key, doc))
            if isinstance(grade, bool) or not (isinstance(grade, int) or
                                               (_np is not None and isinstance(grade, _np.integer))):
                raise ValueError("qrels[%r][%r]: the grade must be an integer, not %r" % (key, doc, grade))
            out.setdefault(qid, {})[did] = int(grade)
    if not any(out.values()):
        raise ValueError("qrels: no judgments")
    return out


def evaluate(model, corpus, queries, qrels, top=1000, batch=32, keep_identical_ids=False,
             digits=6, library=None):
    """`emb eval` in Python: dense retrieval on a BEIR-format set.

    model    a model file path or a Model (None: the default model)
    corpus   corpus.jsonl, or BEIR's dict {id: {"title", "text"}}, or a list
             of {"_id", "title", "text"}; embedded with the passage prompt as
             (title + " " + text).strip()
    queries  queries.jsonl, or {id: text}, or a list of {"_id", "text"};
             embedded with the query prompt
    qrels    a qrels TSV (header line skipped), or {query id: {doc id: grade}}
    top      run depth K (BEIR's top_k); batch: texts per encode() call
    keep_identical_ids  False (as BEIR): a document whose id equals the
             query's is not ranked for it
    digits   metrics rounded to this many decimals as `--json` prints them;
             None: full double precision

    Returns the dict `emb eval --json` prints: {"model", "ndcg_at_10",
    "recall_at_10", "recall_at_100", "mrr_at_10", "queries_evaluated",
    "queries_without_relevant", "queries_unjudged_skipped", "corpus_docs",
    "judged_docs_missing_from_corpus", "depth", "texts", "tokens",
    "encode_seconds", "texts_per_second", "tokens_per_second"}, with the
    definitions of docs/evaluate.md (queries without judgments skipped,
    queries whose grades are all <= 0 scored 0 and averaged in, ties in
    trec_eval's order). Bad files raise ValueError naming the file and line.
    """
    _check_count(top, "top")
    _check_count(batch, "batch")
    docs = _items_arg(corpus, True)
    qs = _items_arg(queries, False)
    judgments = _qrels_arg(qrels, {q[0] for q in qs})
    doc_ids = [d[0] for d in docs]
    doc_set = set(doc_ids)
    missing = sum(1 for per in judgments.values() for d in per if d not in doc_set)
    judged_q = [q for q in qs if judgments.get(q[0])]  # in the queries' order, as the CLI

    opened = _Opened(model, library)
    try:
        m = opened.model
        dim = m.dim
        doc_texts = [d[1] for d in docs]
        q_texts = [q[1] for q in judged_q]
        tokens = _count_tokens(m, doc_texts, "passage") + _count_tokens(m, q_texts, "query")
        dparts, qparts = [], []
        seconds = _encode_timed(m, doc_texts, "passage", batch, dparts)
        seconds += _encode_timed(m, q_texts, "query", batch, qparts)
        S = _cosine_rows(_stack(qparts, dim), _stack(dparts, dim))
    finally:
        opened.close()

    id_bytes = [d.encode("utf-8", "surrogatepass") for d in doc_ids]
    id_order = None
    if _np is not None:
        desc = sorted(range(len(id_bytes)), key=lambda i: id_bytes[i], reverse=True)
        id_order = _np.empty(len(desc), dtype=_np.int64)
        id_order[desc] = _np.arange(len(desc))
    doc_index = {d: i for i, d in enumerate(doc_ids)}
    sums = [0.0, 0.0, 0.0, 0.0]
    without_relevant = 0
    for qi, (qid, _, _) in enumerate(judged_q):
        per = judgments[qid]
        exclude = None if keep_identical_ids else doc_index.get(qid)
        order = _rank(id_bytes, S[qi], top, exclude, id_order)
        ranked_rel = [per.get(doc_ids[i], 0) for i in order]
        one = _query_metrics(ranked_rel, list(per.values()))
        for k in range(4):
            sums[k] += one[k]
        without_relevant += not any(g >= 1 for g in per.values())
    n = float(len(judged_q))
    r = {"model": opened.name}
    for k, key in enumerate(("ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10")):
        r[key] = _round(sums[k] / n, digits)
    r.update({"queries_evaluated": len(judged_q), "queries_without_relevant": without_relevant,
              "queries_unjudged_skipped": len(qs) - len(judged_q), "corpus_docs": len(docs),
              "judged_docs_missing_from_corpus": missing, "depth": top})
    return _throughput(r, len(docs) + len(judged_q), tokens, seconds, digits)
