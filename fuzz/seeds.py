#!/usr/bin/python3
"""Seed corpora for the fuzz harnesses, generated from tests/fixtures at fuzz
time (nothing here is committed). Usage: seeds.py OUT_DIR
Writes OUT_DIR/<harness>/ seed files and OUT_DIR/tiny-bert/, a tiny HF BERT
folder (vocab 128, hidden 8, 1 layer) that fuzz/make_seeds converts into a
small model file. Standard library only."""
import json
import os
import random
import struct
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")
SEP = b"\n=#=\n"
HF_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "modules.json",
            "1_Pooling/config.json", "sentence_bert_config.json",
            "config_sentence_transformers.json", "special_tokens_map.json", "vocab.txt",
            "vocab.json", "merges.txt", "2_Dense/config.json", "3_Dense/config.json"]
TOKENIZERS = ["bert-uncased", "gpt2-bpe", "llama-spm", "mistral-spm", "qwen2-bpe",
              "t5-unigram", "xlmr-style-unigram", "roberta-style-bpe", "camembert-style-unigram"]


def put(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, off, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f32(n, rnd, scale=0.2):
    return struct.pack("<%df" % n, *[rnd.uniform(-scale, scale) for _ in range(n)])


def tiny_bert(out):
    """A BERT folder with vocab 128, hidden 8, 2 heads, ffn 16, 1 layer, 32 positions."""
    rnd = random.Random(1234)
    src = os.path.join(FIX, "models", "bert-e5")
    tok = json.loads(read(os.path.join(src, "tokenizer.json")))
    inv = {i: t for t, i in tok["model"]["vocab"].items()}
    words = [w for i, w in sorted(inv.items()) if i >= 1000 and w.isalpha()][:24]
    vocab = {inv[i]: i for i in range(104)}
    for w in words:
        vocab[w] = len(vocab)
    tok["model"]["vocab"] = vocab
    V, H, F, P = len(vocab), 8, 16, 32
    cfg = json.loads(read(os.path.join(src, "config.json")))
    cfg.update(vocab_size=V, hidden_size=H, intermediate_size=F, num_attention_heads=2,
               num_hidden_layers=1, max_position_embeddings=P)
    t = [("embeddings.word_embeddings.weight", [V, H]), ("embeddings.position_embeddings.weight", [P, H]),
         ("embeddings.token_type_embeddings.weight", [2, H]),
         ("embeddings.LayerNorm.weight", [H]), ("embeddings.LayerNorm.bias", [H])]
    pre = "encoder.layer.0."
    for n in ["attention.self.query", "attention.self.key", "attention.self.value",
              "attention.output.dense"]:
        t += [(pre + n + ".weight", [H, H]), (pre + n + ".bias", [H])]
    t += [(pre + "attention.output.LayerNorm.weight", [H]), (pre + "attention.output.LayerNorm.bias", [H]),
          (pre + "intermediate.dense.weight", [F, H]), (pre + "intermediate.dense.bias", [F]),
          (pre + "output.dense.weight", [H, F]), (pre + "output.dense.bias", [H]),
          (pre + "output.LayerNorm.weight", [H]), (pre + "output.LayerNorm.bias", [H])]
    tensors = []
    for name, shape in t:
        n = 1
        for s in shape:
            n *= s
        tensors.append((name, "F32", shape, f32(n, rnd)))
    put(out, "model.safetensors", safetensors(tensors, {"format": "pt"}))
    put(out, "config.json", json.dumps(cfg, indent=1).encode())
    put(out, "tokenizer.json", json.dumps(tok, indent=1).encode())
    for rel in ["tokenizer_config.json", "modules.json", "1_Pooling/config.json",
                "sentence_bert_config.json", "config_sentence_transformers.json",
                "special_tokens_map.json"]:
        os.makedirs(os.path.dirname(os.path.join(out, rel)) or out, exist_ok=True)
        put(os.path.dirname(os.path.join(out, rel)), os.path.basename(rel),
            read(os.path.join(src, rel)).replace(b'"word_embedding_dimension": 32',
                                                 b'"word_embedding_dimension": 8'))
    put(out, "vocab.txt", "".join(w + "\n" for w, _ in sorted(vocab.items(), key=lambda x: x[1])).encode())
    return tensors


def folder_seed(d, names=HF_FILES):
    parts = []
    for rel in HF_FILES:
        p = os.path.join(d, rel)
        parts.append(read(p) if rel in names and os.path.isfile(p) else b"")
    while parts and not parts[-1]:
        parts.pop()
    return SEP.join(parts)


def main():
    out = sys.argv[1]
    rnd = random.Random(7)
    tiny = os.path.join(out, "tiny-bert")
    tensors = tiny_bert(tiny)

    # safetensors: tiny files of every dtype, plus the tiny model's checkpoint
    st = os.path.join(out, "safetensors")
    put(st, "tiny-bert", read(os.path.join(tiny, "model.safetensors")))
    put(st, "dtypes", safetensors([("a", "F32", [2, 3], f32(6, rnd)),
                                   ("b", "F16", [4], bytes(range(8))),
                                   ("c", "BF16", [2, 2], bytes(range(8, 16))),
                                   ("d", "I64", [1], struct.pack("<q", 5)),
                                   ("e", "F32", [0, 4], b""),
                                   ("f", "BOOL", [3], b"\x01\x00\x01")]))
    put(st, "scalar", safetensors([("s", "F32", [], f32(1, rnd))], {"k": "v"}))
    put(st, "empty", safetensors([]))
    for m in sorted(os.listdir(os.path.join(FIX, "models"))):
        p = os.path.join(FIX, "models", m, "model.safetensors")
        if os.path.isfile(p):  # the header only: the structure of a real checkpoint
            b = read(p)
            put(st, "header-" + m, b[:8 + struct.unpack("<Q", b[:8])[0]])

    # hf_folder: each model fixture's folder (no weights), the tiny folder, vocab.txt-only
    hf = os.path.join(out, "hf_folder")
    for m in sorted(os.listdir(os.path.join(FIX, "models"))):
        d = os.path.join(FIX, "models", m)
        if os.path.isdir(d):
            put(hf, m, folder_seed(d))
    put(hf, "tiny-bert", folder_seed(tiny))
    put(hf, "tiny-bert-vocab-txt", folder_seed(tiny, ["config.json", "vocab.txt", "tokenizer_config.json"]))
    put(hf, "config-only", folder_seed(tiny, ["config.json"]))

    # tokenize: byte 0 = tokenizer, byte 1 = options, then the text
    tk = os.path.join(out, "tokenize")
    texts = []
    with open(os.path.join(FIX, "tokenizers", "texts.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                texts.append(json.loads(line)["text"].encode("utf-8"))
    lc = os.path.join(FIX, "tokenizers", "llamacpp")
    for n in sorted(os.listdir(lc)):
        if n.endswith(".inp"):
            for chunk in read(os.path.join(lc, n)).split(b"\n__ggml_vocab_test__\n"):
                if chunk:
                    texts.append(chunk)
    for i, text in enumerate(texts):
        for k in range(len(TOKENIZERS)):
            if (i + k) % 3 == 0 or i < 8:
                put(tk, "t%03d-%d" % (i, k), bytes([k, (i * 7) & 0xff]) + text[:2048])

    # policy: flags, then template, query, passage, default, explicit prompt, text
    po = os.path.join(out, "policy")
    cases = [
        (1, [b"", b"query: ", b"passage: ", b"", b"", b"  how do plants make food?  "]),
        (3, [b"[INST] {text} [/INST]", b"", b"", b"", b"", b"\u00a0hello\u3000".decode("unicode_escape").encode()]),
        (0x15, [b"", b"Instruct: x\nQuery: ", b"", b"", b"custom: ", b"text"]),
        (0x1b, [b"<{text}>", b"q", b"p", b"d", "\u2003".encode(), " \t\n".encode()]),
    ]
    for i, (flags, parts) in enumerate(cases):
        put(po, "p%d" % i, bytes([flags]) + SEP.join(parts))

    # tok_spec: random specs (the harness decodes any bytes)
    ts = os.path.join(out, "tok_spec")
    for i in range(16):
        r = random.Random(100 + i)
        put(ts, "s%02d" % i, bytes(r.randrange(256) for _ in range(400)) + b"Hello world! 123")

    # serve: request bodies of POST /v1/embeddings
    sv = os.path.join(out, "serve")
    bodies = [
        {"input": "how do plants make food?", "model": "bert-e5"},
        {"input": ["first text", "second text", ""], "encoding_format": "base64"},
        {"input": "query text", "kind": "query", "dimensions": 8},
        {"input": "x", "prompt": "custom: ", "encoding_format": "float"},
        {"input": [[101, 2023, 102], [101, 102]]},
        {"input": [101, 2054, 102], "dimensions": 32},
        {"input": "document", "kind": "passage", "model": None, "user": "u"},
    ]
    for i, b in enumerate(bodies):
        put(sv, "b%d" % i, json.dumps(b).encode())
    put(sv, "nul", b'{"input":"a\\u0000b"}')


if __name__ == "__main__":
    main()
