#!/usr/bin/env python3
"""Build the sentence-transformers module fixtures and their goldens.

Run with the Python that has torch, transformers and sentence-transformers
(the pyenv `python3` of the build machines: torch 2.x, transformers 5.x,
sentence-transformers 6.x), from the project root:

    python3 scripts/make_st_fixtures.py [--check]

Each fixture is the tiny BERT of tests/fixtures/models/bert-e5 (its
config.json, model.safetensors and tokenizer files, copied unchanged) with
other sentence-transformers modules after it, written by hand in the layout
sentence-transformers saves (modules.json, 1_Pooling/config.json,
N_Dense/{config.json, model.safetensors}):

  bert-dense     Pooling max; Dense 32->64 Tanh; Dense 64->16 Identity;
                 Normalize (legacy pooling_mode_* keys)
  bert-noprompt  Pooling ("cls", "mean", "mean_sqrt_len_tokens",
                 "weightedmean") concatenated, include_prompt false (the
                 query/passage prompts are left out of every mode), no
                 Normalize (new-style "pooling_mode" list)

The goldens are SentenceTransformer(folder).encode() of bert-e5's golden
texts, one text at a time with prompt_name = the case's kind (float32, CPU),
in the same cases.jsonl schema as the other fixtures; golden/batch_check.json
holds the difference to encoding each kind's texts in one padded batch.
Dense weights: torch.manual_seed(SEED), nn.Linear's own init, then the
biases ~ N(0, 0.1^2). --check regenerates in a temporary folder and fails
unless the committed goldens match within 1e-6.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense

SEED = 20261207
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BASE = os.path.join(ROOT, "tests", "fixtures", "models", "bert-e5")
BASE_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "sentence_bert_config.json",
              "config_sentence_transformers.json"]
TRANSFORMER = {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}


def module(idx, path, kind):
    return {"idx": idx, "name": str(idx), "path": path, "type": "sentence_transformers.models." + kind}


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_dense(folder, name, in_f, out_f, act, gen):
    dense = Dense(in_f, out_f, bias=True, activation_function=act)
    with torch.no_grad():
        dense.linear.bias.copy_(torch.randn(out_f, generator=gen) * 0.1)
    os.makedirs(os.path.join(folder, name))
    dense.save(os.path.join(folder, name))


def build_dense(folder, gen):
    write_json(os.path.join(folder, "modules.json"),
               [TRANSFORMER, module(1, "1_Pooling", "Pooling"), module(2, "2_Dense", "Dense"),
                module(3, "3_Dense", "Dense"), module(4, "4_Normalize", "Normalize")])
    write_json(os.path.join(folder, "1_Pooling", "config.json"), {
        "word_embedding_dimension": 32, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True})
    write_dense(folder, "2_Dense", 32, 64, torch.nn.Tanh(), gen)
    write_dense(folder, "3_Dense", 64, 16, torch.nn.Identity(), gen)


def build_noprompt(folder, gen):
    del gen
    write_json(os.path.join(folder, "modules.json"), [TRANSFORMER, module(1, "1_Pooling", "Pooling")])
    write_json(os.path.join(folder, "1_Pooling", "config.json"), {
        "embedding_dimension": 32,
        "pooling_mode": ["cls", "mean", "mean_sqrt_len_tokens", "weightedmean"],
        "include_prompt": False})


FIXTURES = {"bert-dense": build_dense, "bert-noprompt": build_noprompt}


def read_cases():
    with open(os.path.join(BASE, "golden", "cases.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def goldens(folder, name):
    torch.set_num_threads(1)
    model = SentenceTransformer(folder, device="cpu")
    model.eval()
    cases = read_cases()
    out, single = [], []
    for c in cases:
        prompt_name = c["prompt_name"]
        vec = model.encode([c["text"]], prompt_name=prompt_name, convert_to_numpy=True,
                           normalize_embeddings=False)[0].astype(np.float32)
        single.append(vec)
        out.append({"text": c["text"], "kind": c["kind"], "prompt_name": prompt_name,
                    "input": c["input"], "ids": c["ids"],
                    "vector": [float("%.9g" % v) for v in vec]})
    worst = 0.0
    for kind in sorted({c["kind"] for c in cases}):
        idx = [i for i, c in enumerate(cases) if c["kind"] == kind]
        pn = cases[idx[0]]["prompt_name"]
        batch = model.encode([cases[i]["text"] for i in idx], prompt_name=pn, convert_to_numpy=True,
                             normalize_embeddings=False, batch_size=len(idx))
        for j, i in enumerate(idx):
            worst = max(worst, float(np.max(np.abs(batch[j] - single[i]))))
    # the ids: the base model's (same tokenizer), checked against this model's
    for c in cases:
        prompt = model.prompts.get(c["prompt_name"], "") if c["prompt_name"] else ""
        ids = model.tokenize([prompt + c["text"]])["input_ids"][0].tolist()
        if ids != c["ids"]:
            sys.exit("%s: ids of %r differ from bert-e5's golden ids" % (name, c["text"]))
    return out, {"max_abs_diff_single_vs_batch": worst, "batch_padding_side": "right",
                 "batch_pad_token_id": 0, "num_cases": len(cases)}


def readme(name, dim):
    versions = "torch %s, transformers %s, sentence-transformers %s" % (
        torch.__version__, __import__("transformers").__version__,
        __import__("sentence_transformers").__version__)
    doc = FIXTURES[name].__doc__ or ""
    return ("# Golden vectors for `%s`\n\n%s\n"
            "Generated by scripts/make_st_fixtures.py (seed %d) with %s, CPU, float32, one thread:\n"
            "SentenceTransformer(folder).encode(text, prompt_name=kind) one text at a time, vectors of %d\n"
            "floats printed with 9 significant digits; `ids` are bert-e5's golden ids (checked equal to this\n"
            "model's tokenization). Tolerance: max abs 1e-4 per component; ids exact.\n"
            % (name, doc, SEED, versions, dim))


def generate(dest_root):
    for name, build in FIXTURES.items():
        folder = os.path.join(dest_root, name)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        for f in BASE_FILES:
            shutil.copy(os.path.join(BASE, f), os.path.join(folder, f))
        gen = torch.Generator().manual_seed(SEED + 1)
        torch.manual_seed(SEED)
        build(folder, gen)
        cases, batch = goldens(folder, name)
        os.makedirs(os.path.join(folder, "golden"))
        with open(os.path.join(folder, "golden", "cases.jsonl"), "w", encoding="utf-8") as f:
            for c in cases:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        write_json(os.path.join(folder, "golden", "batch_check.json"), batch)
        with open(os.path.join(folder, "golden", "README.md"), "w", encoding="utf-8") as f:
            f.write(readme(name, len(cases[0]["vector"])))
        print("%s: %d cases, dim %d, batch vs single %.3g" % (name, len(cases), len(cases[0]["vector"]),
                                                               batch["max_abs_diff_single_vs_batch"]))


build_dense.__doc__ = ("Tiny BERT (bert-e5) + Pooling max + Dense 32->64 Tanh + Dense 64->16 Identity + "
                       "Normalize.")
build_noprompt.__doc__ = ("Tiny BERT (bert-e5) + Pooling (cls, mean, mean_sqrt_len_tokens, weightedmean "
                          "concatenated: 128 floats) with include_prompt false; no Normalize.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate elsewhere and compare")
    args = ap.parse_args()
    dest = os.path.join(ROOT, "tests", "fixtures", "models")
    if not args.check:
        generate(dest)
        return
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp)
        for name in FIXTURES:
            for rel in ["golden/cases.jsonl"]:
                with open(os.path.join(tmp, name, rel)) as a, open(os.path.join(dest, name, rel)) as b:
                    for la, lb in zip(a, b):
                        va, vb = json.loads(la)["vector"], json.loads(lb)["vector"]
                        if np.max(np.abs(np.array(va) - np.array(vb))) > 1e-6:
                            sys.exit("%s: goldens differ from the committed ones" % name)
    print("goldens reproduce")


if __name__ == "__main__":
    main()
