#!/usr/bin/env python3
"""Reference vectors and token ids of the real checkpoints, for tests/test_real.c.

Run once, after scripts/fetch-models.py, with the Python that has the
reference stack (PyPI's torch, transformers, sentence-transformers and
tokenizers; this is the pyenv `python3` first on PATH, not Debian's):

    pip install torch transformers sentence-transformers tokenizers
    python3 scripts/make_real_goldens.py            # every model in models/real-models.json

For each model models/<name>/ it writes, into tests/fixtures/real/:

  <name>.cases.jsonl   sentence-transformers' fp32 vectors of every text of
                       tests/fixtures/real/texts.jsonl, once per input kind the
                       model defines (none, and query / passage where the model
                       has prompts), with the token ids the model saw (after
                       sentence-transformers' truncation to max_seq_length);
                       the layout of the fixtures' golden/cases.jsonl.
  <name>.reference.json  the versions of the reference stack, max_seq_length,
                       dimension, prompts and parameter counts (total, the
                       pooler, and non-embedding without the pooler).
  <name>.tokens.jsonl  the ids of the PyPI `tokenizers` package (the model's
                       tokenizer.json, truncation and padding disabled, special
                       tokens added) for every text of the shared corpus
                       tests/fixtures/tokenizers/texts.jsonl, then every text of
                       tests/fixtures/real/texts.jsonl.

Deterministic: fp32 on the CPU, no sampling; versions are recorded in the files.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "real")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_vec(v):
    # float32 values written with 9 significant digits: exact round trip
    return "[" + ",".join("%.9g" % float(x) for x in v) + "]"


def kinds_of(model):
    """(kind, prompt) pairs: libemb's --kind none|query|passage, and the
    sentence-transformers prompt each one means for this model."""
    prompts = getattr(model, "prompts", None) or {}
    out = [("none", "")]
    for kind, keys in (("query", ("query",)), ("passage", ("passage", "document"))):
        for k in keys:
            if prompts.get(k):
                out.append((kind, prompts[k]))
                break
    return out


def goldens(name, texts, corpus):
    import numpy
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    folder = os.path.join(ROOT, "models", name)
    model = SentenceTransformer(folder, device="cpu")
    model.eval()
    versions = {"sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__, "torch": torch.__version__,
                "tokenizers": tokenizers.__version__, "numpy": numpy.__version__}
    path = os.path.join(OUT, name + ".cases.jsonl")
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for kind, prompt in kinds_of(model):
            for t in texts:
                text = prompt + t["text"]
                with torch.no_grad():
                    v = model.encode([text], batch_size=1, convert_to_numpy=True)[0]
                ids = model.tokenize([text])["input_ids"][0].tolist()
                f.write('{"name": %s, "text": %s, "kind": %s, "input": %s, "ids": %s, "vector": %s}\n'
                        % (json.dumps(t["name"]), json.dumps(t["text"], ensure_ascii=False),
                           json.dumps(kind), json.dumps(text, ensure_ascii=False),
                           json.dumps(ids), fmt_vec(v)))
                n += 1
    print("wrote", os.path.relpath(path, ROOT), n, "vectors", file=sys.stderr)
    # parameters: all of the sentence-transformers model's, the transformer's
    # pooler (carried, never run by sentence-transformers), and
    # num_parameters(exclude_embeddings=True) of the transformer less that
    # pooler -- what emb_diag_model_params must report (tests/test_real.c)
    auto = model[0].auto_model
    pooler = sum(p.numel() for n, p in auto.named_parameters() if n.startswith("pooler."))
    params = {"total": sum(p.numel() for p in model.parameters()), "pooler": pooler,
              "non_embedding": auto.num_parameters(exclude_embeddings=True) - pooler}
    path = os.path.join(OUT, name + ".reference.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"model": name, "max_seq_length": model.max_seq_length,
                   "dim": model.get_sentence_embedding_dimension(), "reference": versions,
                   "prompts": dict(kinds_of(model)), "parameters": params}, f, indent=1)
        f.write("\n")

    tok = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    path = os.path.join(OUT, name + ".tokens.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for src, items in (("corpus", corpus), ("real", texts)):
            for t in items:
                key = t["id"] if src == "corpus" else t["name"]
                ids = tok.encode(t["text"], add_special_tokens=True).ids
                f.write(json.dumps({"set": src, "key": key, "ids": ids}) + "\n")
    print("wrote", os.path.relpath(path, ROOT), len(corpus) + len(texts), "id lists", file=sys.stderr)


def main(argv):
    ap = argparse.ArgumentParser(description="reference goldens of the real checkpoints")
    ap.add_argument("names", nargs="*", help="models (default: all of models/real-models.json)")
    a = ap.parse_args(argv)
    with open(os.path.join(ROOT, "models", "real-models.json")) as f:
        names = [m["name"] for m in json.load(f)["models"]]
    names = a.names or names
    texts = read_jsonl(os.path.join(OUT, "texts.jsonl"))
    corpus = read_jsonl(os.path.join(ROOT, "tests", "fixtures", "tokenizers", "texts.jsonl"))
    for name in names:
        if not os.path.isdir(os.path.join(ROOT, "models", name)):
            sys.exit("make_real_goldens: models/%s is missing: run scripts/fetch-models.py first" % name)
        goldens(name, texts, corpus)


if __name__ == "__main__":
    main(sys.argv[1:])
