#!/usr/bin/env python3
"""Tiny random-weight model fixtures with golden vectors, one family at a time.

Needs the reference stack from PyPI: torch, transformers, sentence-transformers
and tokenizers (the pyenv `python3` first on PATH, not Debian's /usr/bin/python3;
the versions used are written into each fixture's golden/README.md). Run from
anywhere:

    python3 scripts/make_model_fixtures.py --family mpnet     # one family
    python3 scripts/make_model_fixtures.py --list             # the registry

For a family it writes tests/fixtures/models/<folder>/ laid out like a model
downloaded from the Hugging Face hub with its sentence-transformers files
(config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
special_tokens_map.json, modules.json, 1_Pooling/config.json,
sentence_bert_config.json, config_sentence_transformers.json), and golden/:

  cases.jsonl       one line per text: {"text", "kind", "prompt_name", "input",
                    "ids", "vector"}: sentence-transformers' fp32 vector of the
                    input (the text str.strip()-ed, as sentence-transformers
                    up to 5.3 did: libemb's `strip` 1), encoded alone, and the ids it fed
                    the model (checked equal to the `tokenizers` package's on
                    tokenizer.json).
  batch_check.json  the largest difference between those vectors and the same
                    texts encoded in one padded batch.
  README.md         how they were made: versions, seed, what was reduced.

Weights: the real config's shape reduced (hidden 32, 2 layers, 4 heads, ...),
transformers' own init under torch.manual_seed(seed), then every LayerNorm
weight ~ U(0.5, 1.5), every LayerNorm and Linear bias ~ N(0, 0.2^2 / 0.1^2) and
the family's extra tables (e.g. MPNet's relative attention bias ~ N(0, 1))
randomized from a torch.Generator seeded with seed + 1, so that a graph that
skips any of them cannot pass. The tokenizer is the real checkpoint's
tokenizer.json with its vocabulary reduced (each family says how); its source
folder is a real checkpoint fetched by scripts/fetch-models.py and checked
against the hashes pinned in models/real-models.json.

A family is an entry of FAMILIES: add one with its own config, tokenizer
reduction, sentence-transformers files and texts.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "models")

# ----------------------------------------------------------------- texts

# Short texts every family encodes: queries, passages, scripts the
# normalizers treat differently, empty and blank input, an embedded U+0000.
COMMON_TEXTS = [
    "how much protein should a female eat",
    "summit define",
    "best pizza near me open now",
    "What is the boiling point of water at high altitude?",
    "python list comprehension vs map performance",
    "北京的天气怎么样",
    "Wie spät ist es in Berlin?",
    "As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 "
    "is 46 grams per day.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "서울은 대한민국의 수도이며 가장 큰 도시입니다.",
    "I love pizza 🍕🔥 and 1,000 people paid $1,000,000.00 in total!",
    "Ünïcödé ÀÉÎÕÜ façade naïve café",
    "",
    "   \t\n  ",
    "before\x00after",
]

HISTORY = (
    "The history of embedding models begins with simple word vectors trained on large "
    "corpora, continues through contextual encoders that read a whole sentence at once, "
    "and arrives at models trained on a billion sentence pairs to place paraphrases close "
    "together. Each step changed what a vector of numbers could say about a text. "
)


def long_text(words):
    """A text of about `words` words (repeated prose)."""
    out = []
    while len(out) < words:
        out.extend(HISTORY.split())
    return " ".join(out[:words])


# ------------------------------------------------------------- utilities

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pinned_source(name, rel):
    """models/<name>/<rel> of a real checkpoint, checked against its pin in
    models/real-models.json (so every run reduces the same file)."""
    with open(os.path.join(ROOT, "models", "real-models.json")) as f:
        models = {m["name"]: m for m in json.load(f)["models"]}
    path = os.path.join(ROOT, "models", name, rel)
    if not os.path.exists(path):
        sys.exit("make_model_fixtures: %s is missing: run scripts/fetch-models.py %s first"
                 % (os.path.relpath(path, ROOT), name))
    want = models[name]["files"][rel]["sha256"]
    if sha256_file(path) != want:
        sys.exit("make_model_fixtures: %s is not the pinned file" % os.path.relpath(path, ROOT))
    return path


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def fmt_vec(v):
    # float32 values with 9 significant digits: an exact round trip
    return "[" + ",".join("%.9g" % float(x) for x in v) + "]"


def randomize(model, seed, extra):
    """Norms and biases (and the family's `extra` parameter names) away from
    their init values, so that every one of them matters."""
    import torch

    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(torch.rand(module.weight.shape, generator=g) + 0.5)
                if module.bias is not None:  # ModernBERT: norm_bias false
                    module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.2)
            elif isinstance(module, torch.nn.Linear) and module.bias is not None:
                module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.1)
        params = dict(model.named_parameters())
        for name, std in extra.items():
            p = params[name]
            p.copy_(torch.randn(p.shape, generator=g) * std)


def write_st_modules(out, modules):
    """modules.json: the Transformer, then `modules` (sentence-transformers
    type names: "Pooling", "Dense", "Normalize") in folders "<i>_<type>"."""
    entries = [{"idx": 0, "name": "0", "path": "",
                "type": "sentence_transformers.models.Transformer"}]
    for i, kind in enumerate(modules, 1):
        entries.append({"idx": i, "name": str(i), "path": "%d_%s" % (i, kind),
                        "type": "sentence_transformers.models." + kind})
    write_json(os.path.join(out, "modules.json"), entries)


def write_mean_pooling(out, dim, **extra):
    """1_Pooling/config.json: mean pooling over `dim` features (legacy
    pooling_mode_* keys), and any `extra` keys after them."""
    cfg = {"word_embedding_dimension": dim, "pooling_mode_cls_token": False,
           "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
           "pooling_mode_mean_sqrt_len_tokens": False}
    cfg.update(extra)
    write_json(os.path.join(out, "1_Pooling", "config.json"), cfg)


def versions():
    import sentence_transformers
    import tokenizers
    import torch
    import transformers

    return {"sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__, "torch": torch.__version__,
            "tokenizers": tokenizers.__version__}


# ------------------------------------------------------------- families

class Mpnet:
    """MPNetModel shaped like sentence-transformers/all-mpnet-base-v2: mean
    pooling, Normalize, max_seq_length 384, no prompts; relative attention
    buckets, RoBERTa-style positions (padding_idx 1), no token types."""

    folder = "mpnet-st"
    seed = 20261207
    source = "all-mpnet-base-v2"
    keep_ids = 5000   # vocabulary entries kept (ids unchanged); <mask> moves to keep_ids
    max_seq_length = 384

    def texts(self):
        specials = [
            "<s> hi </s> <mask> <pad> <unk> [UNK] done",
            "a <pad> b",
            "mask<mask>after and  <mask>spaced",
            "[CLS] is not [SEP] a [MASK] token [PAD]",
        ]
        return COMMON_TEXTS + specials + [
            long_text(150),   # relative distances past 128 (the last log bucket)
            long_text(600),   # truncated to max_seq_length, keeping <s> ... </s>
        ]

    def tokenizer(self, out):
        """The real tokenizer.json (BertNormalizer, BertPreTokenizer, WordPiece
        with [UNK], RobertaProcessing <s> ... </s>, and its truncation/padding
        sections) with the vocabulary cut to ids < keep_ids; <mask> (30526)
        becomes keep_ids. Returns the vocabulary size."""
        src = pinned_source(self.source, "tokenizer.json")
        with open(src, encoding="utf-8") as f:
            tok = json.load(f)
        vocab = tok["model"]["vocab"]
        mask = vocab["<mask>"]
        kept = {t: i for t, i in vocab.items() if i < self.keep_ids}
        kept["<mask>"] = self.keep_ids
        tok["model"]["vocab"] = dict(sorted(kept.items(), key=lambda kv: kv[1]))
        for added in tok["added_tokens"]:
            if added["id"] == mask:
                added["id"] = self.keep_ids
            assert added["id"] <= self.keep_ids, added
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)
        with open(pinned_source(self.source, "tokenizer_config.json")) as f:
            tc = json.load(f)
        tc.pop("name_or_path", None)
        write_json(os.path.join(out, "tokenizer_config.json"), tc)
        shutil.copy(pinned_source(self.source, "special_tokens_map.json"),
                    os.path.join(out, "special_tokens_map.json"))
        return self.keep_ids + 1

    def model(self, vocab_size):
        import torch
        from transformers import MPNetConfig, MPNetModel

        torch.manual_seed(self.seed)
        cfg = MPNetConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=64,
                          max_position_embeddings=514, layer_norm_eps=1e-5,
                          initializer_range=0.15, relative_attention_num_buckets=32,
                          pad_token_id=1, bos_token_id=0, eos_token_id=2, hidden_act="gelu")
        model = MPNetModel(cfg)
        randomize(model, self.seed, {"encoder.relative_attention_bias.weight": 1.0})
        return model.eval()

    def st_files(self, out):
        st_files(out, 32, self.max_seq_length, True)

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `mpnet-st`

Tiny random-weight model shaped like `sentence-transformers/all-mpnet-base-v2`
(MPNetModel, model_type `mpnet`): hidden 32, 2 layers, 4 heads (head_dim 8),
ffn 64, max_position_embeddings 514, layer_norm_eps 1e-5, 32 relative
attention buckets; mean pooling, Normalize, max_seq_length 384, no prompts.

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family mpnet` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32), tokenizers {tok}. Every vector is `SentenceTransformer.encode` of one
  text alone; `ids` are what it fed the model (`model.tokenize`), checked equal to the
  `tokenizers` package's ids of tokenizer.json (truncation to 384, no padding).
- Vocabulary is REDUCED: the real all-mpnet-base-v2 tokenizer.json (fetched and
  hash-checked by scripts/fetch-models.py) cut to ids < {keep}, `<mask>` moved from 30526
  to {keep}; its BertNormalizer, BertPreTokenizer, WordPiece (`[UNK]` = 104),
  RobertaProcessing (`<s>` ... `</s>`) and its truncation (128) / padding (fixed 128)
  sections unchanged (sentence-transformers overrides both; a converter must ignore them).
  tokenizer_config.json and special_tokens_map.json are the real ones.
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range 0.15),
  then LayerNorm weights ~ U(0.5, 1.5), LayerNorm biases ~ N(0, 0.2^2), Linear biases ~
  N(0, 0.1^2), `encoder.relative_attention_bias.weight` ~ N(0, 1) (generator seed + 1).
- Positions: MPNetEmbeddings' padding_idx 1, so position ids are 2, 3, ... and a literal
  `<pad>` typed in a text takes position 1 without advancing the count (the cases
  `a <pad> b` and the specials line).
- Cases: {n} texts, kind `none` (the model has no prompts); a 150-word text (relative
  distances beyond 128: the last log bucket) and a 600-word text truncated to 384 tokens.
- Batch check: all texts in one padded batch; max abs difference to the single vectors =
  {diff:.3g} (golden/batch_check.json).
- Values are float32 printed with 9 significant digits.

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(seed=self.seed, st=v["sentence_transformers"], tf=v["transformers"],
           torch=v["torch"], tok=v["tokenizers"], keep=self.keep_ids, n=n_cases,
           diff=batch_diff)


# ----------------------------------------------- reduced stand-in tokenizers

TOKENIZERS = os.path.join(ROOT, "tests", "fixtures", "tokenizers")


def reduce_tokenizer(src, out, keep, moved):
    """tests/fixtures/tokenizers/<src>/tokenizer.json with its vocabulary cut
    to ids < keep, the ids in `moved` ({old: new}, new >= keep) renumbered
    (added tokens and post-processor ids alike), a BPE's merges cut to those
    whose parts and result are kept, and the truncation/padding sections
    left as they are. Returns the vocabulary size."""
    with open(os.path.join(TOKENIZERS, src, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    model = tok["model"]
    if isinstance(model["vocab"], list):          # Unigram: [piece, score] in id order
        vocab = model["vocab"]
        kept = vocab[:keep]
        for old, new in sorted(moved.items(), key=lambda kv: kv[1]):
            assert new == len(kept), (old, new)
            kept.append(vocab[old])
        model["vocab"] = kept
        size = len(kept)
    else:                                         # WordPiece / BPE: {token: id}
        kept = {t: moved.get(i, i) for t, i in model["vocab"].items() if i < keep or i in moved}
        model["vocab"] = dict(sorted(kept.items(), key=lambda kv: kv[1]))
        if "merges" in model:
            def parts(m):
                return m.split(" ") if isinstance(m, str) else m
            model["merges"] = [m for m in model["merges"]
                               if all(p in kept for p in parts(m)) and "".join(parts(m)) in kept]
        size = max(kept.values()) + 1
    tok["added_tokens"] = [dict(a, id=moved.get(a["id"], a["id"])) for a in tok["added_tokens"]
                           if a["id"] < keep or a["id"] in moved]
    pp = tok.get("post_processor") or {}
    for key in ("sep", "cls"):
        if key in pp:
            assert pp[key][1] < keep
    for sp in (pp.get("special_tokens") or {}).values():
        sp["ids"] = [moved.get(i, i) for i in sp["ids"]]
        assert all(i < keep or i in moved.values() for i in sp["ids"])
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    return size


def st_files(out, dim, max_seq_length, normalize, do_lower_case=False, pooling=None):
    """modules.json (Transformer, Pooling, Normalize if asked),
    1_Pooling/config.json (mean pooling, or the `pooling` keys),
    sentence_bert_config.json and config_sentence_transformers.json (no
    prompts)."""
    write_st_modules(out, ["Pooling", "Normalize"] if normalize else ["Pooling"])
    if normalize:
        os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
    write_json(os.path.join(out, "1_Pooling", "config.json"), dict(
        {"word_embedding_dimension": dim},
        **(pooling or {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
                       "pooling_mode_max_tokens": False,
                       "pooling_mode_mean_sqrt_len_tokens": False})))
    write_json(os.path.join(out, "sentence_bert_config.json"),
               {"max_seq_length": max_seq_length, "do_lower_case": do_lower_case})
    v = versions()
    write_json(os.path.join(out, "config_sentence_transformers.json"), {
        "__version__": {"sentence_transformers": v["sentence_transformers"],
                        "transformers": v["transformers"], "pytorch": v["torch"]}})


class Roberta:
    """RobertaModel shaped like sentence-transformers/all-distilroberta-v1:
    mean pooling, Normalize, max_seq_length 512; positions after
    padding_idx 1, type_vocab_size 1; byte-level BPE with RobertaProcessing
    (the roberta-style-bpe stand-in: GPT-2's real vocabulary and merges)."""

    folder = "roberta-st"
    seed = 20261208
    model_type = "roberta"
    tokenizer_src = "roberta-style-bpe"
    keep_ids = 5000           # ids kept; <mask> (50260) moves to keep_ids
    mask_id = 50260
    max_seq_length = 512
    normalize = True
    shape = "sentence-transformers/all-distilroberta-v1 (RobertaModel)"
    whitespace_goldens = True  # byte-level BPE: surrounding spaces are tokens

    def texts(self):
        return COMMON_TEXTS + [
            "<s> hi </s> <mask> <pad> <unk> done",
            "a <pad> b",
            "mask<mask>after and  <mask>spaced",
            "  leading and trailing spaces  ",
            long_text(900),   # truncated to max_seq_length, keeping <s> ... </s>
        ]

    def tokenizer(self, out):
        size = reduce_tokenizer(self.tokenizer_src, out, self.keep_ids,
                                {self.mask_id: self.keep_ids})
        shutil.copy(os.path.join(TOKENIZERS, self.tokenizer_src, "tokenizer_config.json"),
                    os.path.join(out, "tokenizer_config.json"))
        return size

    config_class = "RobertaConfig"
    bos_eos = (0, 2)

    def config(self, vocab_size):
        import transformers

        cls = getattr(transformers, self.config_class)
        return cls(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                   num_attention_heads=4, intermediate_size=64, max_position_embeddings=514,
                   type_vocab_size=1, layer_norm_eps=1e-5, initializer_range=0.15,
                   pad_token_id=1, bos_token_id=self.bos_eos[0], eos_token_id=self.bos_eos[1],
                   hidden_act="gelu")

    def model(self, vocab_size):
        import torch
        from transformers import AutoModel

        torch.manual_seed(self.seed)
        model = AutoModel.from_config(self.config(vocab_size))
        randomize(model, self.seed, self.extra())
        return model.eval()

    def extra(self):
        return {"embeddings.token_type_embeddings.weight": 1.0}

    def st_files(self, out):
        st_files(out, 32, self.max_seq_length, self.normalize)

    def reduction(self):
        return ("the roberta-style-bpe stand-in tokenizer.json (GPT-2's real vocabulary and "
                "merges under roberta-base's pipeline: ByteLevel, BPE, RobertaProcessing `<s>` "
                "... `</s>`; see tests/fixtures/tokenizers/roberta-style-bpe/SOURCE.md) cut to "
                "ids < {keep} and the merges among them, `<mask>` moved from {mask} to {keep}"
                ).format(keep=self.keep_ids, mask=self.mask_id)

    def notes(self):
        return ("- Positions: RobertaEmbeddings' padding_idx = pad_token_id 1, so position ids "
                "are 2, 3, ...; a literal `<pad>` typed in a text takes position 1 without "
                "advancing the count (`a <pad> b`). type_vocab_size 1, its one row randomized "
                "(N(0, 1)).\n")

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `{folder}`

Tiny random-weight model shaped like `{shape}`, model_type `{mt}`: hidden 32,
2 layers, 4 heads (head_dim 8), ffn 64; mean pooling{norm}, max_seq_length
{msl}, no prompts.

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family {family}` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32), tokenizers {tok}. Every vector is `SentenceTransformer.encode` of one
  text alone; `ids` are what it fed the model (`model.tokenize`), checked equal to the
  `tokenizers` package's ids of tokenizer.json (truncation to {msl}, no padding).
- Vocabulary is REDUCED: {reduction}.
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range 0.15),
  then LayerNorm weights ~ U(0.5, 1.5), LayerNorm biases ~ N(0, 0.2^2), Linear biases ~
  N(0, 0.1^2){extra} (generator seed + 1).
{notes}- Cases: {n} texts, kind `none` (the model has no prompts); the last is truncated to
  {msl} tokens. Each `input` is its text `str.strip()`-ed, as sentence-transformers up to
  5.3 fed it ({st} and libemb's default use the text as is: the tests convert these
  folders with `strip` 1).
{whitespace}- Batch check: all texts in one padded batch; max abs difference to the single vectors =
  {diff:.3g} (golden/batch_check.json).
- Values are float32 printed with 9 significant digits.

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(folder=self.folder, shape=self.shape, mt=self.model_type, family=self.model_type,
           norm=", Normalize" if self.normalize else " (no Normalize)",
           msl=self.max_seq_length, seed=self.seed, st=v["sentence_transformers"],
           tf=v["transformers"], torch=v["torch"], tok=v["tokenizers"],
           reduction=self.reduction(), notes=self.notes(),
           extra="".join(", `%s` ~ N(0, %g^2)" % kv for kv in self.extra().items()),
           n=n_cases, diff=batch_diff, whitespace=WHITESPACE_README if self.whitespace_goldens else "")


class Camembert(Roberta):
    """CamembertModel shaped like a sentence-camembert-base model: mean
    pooling, no Normalize, max_seq_length 128; RoBERTa positions and type
    table; SentencePiece Unigram under CamemBERT's ids (the
    camembert-style-unigram stand-in: t5-small's real pieces)."""

    folder = "camembert-st"
    whitespace_goldens = False
    seed = 20261209
    model_type = "camembert"
    tokenizer_src = "camembert-style-unigram"
    keep_ids = 2500           # <mask> (32004) moves to keep_ids (the charsmap alone is ~370 KB)
    mask_id = 32004
    max_seq_length = 128
    normalize = False
    shape = "a sentence-camembert-base model (CamembertModel)"

    def texts(self):
        return COMMON_TEXTS + [
            "Le café est très chaud aujourd'hui, n'est-ce pas ?",
            "<s> salut </s> <mask> <pad> <unk> fin",
            "<s>NOTUSED a </s>NOTUSED b <unk>NOTUSED",
            "a <pad> b",
            long_text(300),   # truncated to max_seq_length
        ]

    config_class = "CamembertConfig"
    bos_eos = (5, 6)

    def reduction(self):
        return ("the camembert-style-unigram stand-in tokenizer.json (t5-small's real "
                "Unigram pieces and Precompiled charsmap under CamemBERT's ids and "
                "transformers' CamembertTokenizer pipeline: WhitespaceSplit + Metaspace, "
                "`<s>`=5 ... `</s>`=6; see "
                "tests/fixtures/tokenizers/camembert-style-unigram/SOURCE.md) cut to ids < "
                "{keep}, `<mask>` moved from {mask} to {keep}").format(keep=self.keep_ids,
                                                                      mask=self.mask_id)


class Distilbert(Roberta):
    """DistilBertModel shaped like sentence-transformers/multi-qa-distilbert-cos-v1:
    mean pooling, Normalize, max_seq_length 512; learned positions 0..n-1, no
    token types, LayerNorm eps 1e-12; bert-base-uncased's WordPiece (the
    tokenizer distilbert-base-uncased ships)."""

    folder = "distilbert-st"
    whitespace_goldens = False
    seed = 20261210
    model_type = "distilbert"
    tokenizer_src = "bert-uncased"
    keep_ids = 5000
    max_seq_length = 512
    normalize = True
    shape = "sentence-transformers/multi-qa-distilbert-cos-v1 (DistilBertModel)"

    def texts(self):
        return COMMON_TEXTS + [
            "[CLS] is not [SEP] a [MASK] token [PAD] [UNK]",
            "Hello, WORLD! Don't panic.",
            long_text(900),   # truncated to max_seq_length
        ]

    def tokenizer(self, out):
        size = reduce_tokenizer(self.tokenizer_src, out, self.keep_ids, {})
        write_json(os.path.join(out, "tokenizer_config.json"), {
            "tokenizer_class": "DistilBertTokenizer", "do_lower_case": True,
            "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
            "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": True,
            "strip_accents": None, "model_max_length": 512,
            "model_input_names": ["input_ids", "attention_mask"]})
        return size

    def config(self, vocab_size):
        from transformers import DistilBertConfig

        return DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4,
                                hidden_dim=64, max_position_embeddings=512,
                                initializer_range=0.15, pad_token_id=0, activation="gelu",
                                sinusoidal_pos_embds=False)

    def extra(self):
        return {"embeddings.position_embeddings.weight": 1.0}

    def st_files(self, out):
        st_files(out, 32, self.max_seq_length, self.normalize, do_lower_case=False)

    def reduction(self):
        return ("bert-base-uncased's real tokenizer.json (tests/fixtures/tokenizers/"
                "bert-uncased: BertNormalizer lowercase, BertPreTokenizer, WordPiece, `[CLS]` "
                "... `[SEP]`; distilbert-base-uncased ships the same vocabulary and pipeline) "
                "cut to ids < {keep}; its truncation (128) / padding (fixed 128) sections "
                "unchanged (sentence-transformers overrides both)").format(keep=self.keep_ids)

    def verify(self, folder, inputs, single):
        """sinusoidal_pos_embds true gives the same vectors: transformers
        fills the position table with sin/cos only at init, and loading
        takes the stored table (so libemb reads it either way)."""
        import numpy as np
        import torch
        from sentence_transformers import SentenceTransformer

        tmp = folder + ".sinusoidal"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(folder, tmp, ignore=shutil.ignore_patterns("golden"))
        with open(os.path.join(tmp, "config.json")) as f:
            cfg = json.load(f)
        cfg["sinusoidal_pos_embds"] = True
        write_json(os.path.join(tmp, "config.json"), cfg)
        st = SentenceTransformer(tmp, device="cpu")
        with torch.no_grad():
            v = np.stack([st.encode([t], batch_size=1, convert_to_numpy=True)[0] for t in inputs])
        shutil.rmtree(tmp)
        diff = float(np.abs(v - single).max())
        if diff != 0.0:
            sys.exit("make_model_fixtures: sinusoidal_pos_embds true changed the vectors (%g)" % diff)
        return ("\n## sinusoidal_pos_embds\nThe same folder with `\"sinusoidal_pos_embds\": true` gives "
                "bitwise the same vectors (checked by the generator): transformers writes sin/cos "
                "into the position table only at init; loading a checkpoint takes its stored "
                "table.\n")

    def notes(self):
        return ("- DistilBERT: config keys dim / n_layers / n_heads / hidden_dim / activation, "
                "LayerNorm eps fixed at 1e-12 (no config key), positions 0, 1, ..., no "
                "token_type table; tensors `transformer.layer.N.attention.q_lin` ... "
                "`out_lin`, `sa_layer_norm`, `ffn.lin1` / `lin2`, `output_layer_norm`.\n")


class Gemma:
    """Gemma3TextModel shaped like google/embeddinggemma-300m: bidirectional
    attention, sliding and full layers, mean pooling, two Dense modules and
    Normalize, its task prompts; a stand-in Gemma tokenizer (see SOURCE.md)."""

    folder = "gemma-st"
    seed = 20261208
    source = os.path.join("tests", "fixtures", "tokenizers", "gemma-style-bpe")
    max_seq_length = 2048
    window = 8          # sliding_window: local layers see |i - j| < 8 // 2 + 1
    prompts = {         # the real config_sentence_transformers.json's prompts (a subset)
        "query": "task: search result | query: ",
        "document": "title: none | text: ",
        "Clustering": "task: clustering | query: ",
        "STS": "task: sentence similarity | query: ",
    }

    def texts(self):
        return COMMON_TEXTS + [
            "<bos> tokens <eos> typed <pad> in <mask> text <unk>",
            long_text(40),   # longer than the window: local layers see only part of it
        ]

    def cases(self):
        """(text, kind, prompt_name): every text as a query and as a document,
        and the specials line without a prompt."""
        out = []
        for t in self.texts():
            out.append((t, "query", "query"))
            out.append((t, "passage", "document"))
        out.append((self.texts()[0], "none", None))
        return out

    def tokenizer(self, out):
        """The stand-in Gemma tokenizer of tests/fixtures/tokenizers/gemma-style-bpe
        (scripts/make_style_tokenizers.py: Gemma's GemmaTokenizer pipeline
        over a reduced Llama 2 SentencePiece BPE vocabulary, EmbeddingGemma's
        <bos> $A <eos>), copied. Returns the vocabulary size."""
        src = os.path.join(ROOT, self.source)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
        with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
            return len(json.load(f)["model"]["vocab"])

    def model(self, vocab_size):
        import torch
        from transformers import Gemma3TextConfig, Gemma3TextModel

        torch.manual_seed(self.seed)
        cfg = Gemma3TextConfig(
            vocab_size=vocab_size, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            max_position_embeddings=2048, rms_norm_eps=1e-6, query_pre_attn_scalar=16,
            sliding_window=self.window, layer_types=["sliding_attention", "full_attention",
                                                     "sliding_attention"],
            rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                             "sliding_attention": {"rope_type": "default",
                                                   "rope_theta": 10000.0}},
            use_bidirectional_attention=True, hidden_activation="gelu_pytorch_tanh",
            pad_token_id=0, eos_token_id=1, bos_token_id=2, initializer_range=0.15,
            attn_implementation="eager")
        model = Gemma3TextModel(cfg)
        g = torch.Generator().manual_seed(self.seed + 1)
        with torch.no_grad():  # Gemma norms are offsets from 1: make each one matter
            for name, p in model.named_parameters():
                if name.endswith("norm.weight"):
                    p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        return model.eval()

    def st_files(self, out):
        import torch
        from sentence_transformers.sentence_transformer.modules import Dense

        write_st_modules(out, ["Pooling", "Dense", "Dense", "Normalize"])
        write_mean_pooling(out, 32, pooling_mode_weightedmean_tokens=False,
                           pooling_mode_lasttoken=False, include_prompt=True)
        torch.manual_seed(self.seed + 2)
        for path, i, o in (("2_Dense", 32, 128), ("3_Dense", 128, 32)):
            d = Dense(i, o, bias=False, activation_function=torch.nn.Identity())
            os.makedirs(os.path.join(out, path), exist_ok=True)
            d.save(os.path.join(out, path))
        os.makedirs(os.path.join(out, "4_Normalize"), exist_ok=True)
        write_json(os.path.join(out, "sentence_bert_config.json"),
                   {"max_seq_length": self.max_seq_length, "do_lower_case": False})
        v = versions()
        write_json(os.path.join(out, "config_sentence_transformers.json"), {
            "model_type": "SentenceTransformer",
            "__version__": {"sentence_transformers": v["sentence_transformers"],
                            "transformers": v["transformers"], "pytorch": v["torch"]},
            "prompts": self.prompts, "default_prompt_name": None, "similarity_fn_name": "cosine"})

    def extra_goldens(self, folder, cases, ids):
        """golden/causal.json: the same model with use_bidirectional_attention
        false (causal masks; the sliding layers' window i - j < sliding_window,
        not halved), sentence-transformers' vector of the longest case's ids."""
        import torch
        from sentence_transformers import SentenceTransformer

        longest = max(range(len(ids)), key=lambda i: len(ids[i]))
        causal = folder + ".causal"
        shutil.copytree(folder, causal)
        try:
            path = os.path.join(causal, "config.json")
            with open(path) as f:
                cfg = json.load(f)
            cfg["use_bidirectional_attention"] = False
            write_json(path, cfg)
            st = SentenceTransformer(causal, device="cpu")
            assert not st[0].auto_model.config.use_bidirectional_attention
            x = torch.tensor([ids[longest]])
            with torch.no_grad():
                v = st({"input_ids": x, "attention_mask": torch.ones_like(x)})
            vec = v["sentence_embedding"][0].numpy()
        finally:
            shutil.rmtree(causal)
        with open(os.path.join(folder, "golden", "causal.json"), "w") as f:
            f.write('{"case": %d, "ids": %s, "vector": %s}\n'
                    % (longest, json.dumps(ids[longest]), fmt_vec(vec)))

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `gemma-st`

Tiny random-weight model shaped like `google/embeddinggemma-300m` (Gemma3TextModel,
model_type `gemma3_text`, `use_bidirectional_attention: true`): hidden 32, 3 layers
(sliding, full, sliding), 4 heads over 2 key/value heads, head_dim 16,
query_pre_attn_scalar 16, intermediate 48 (gelu_pytorch_tanh GeGLU), sliding_window {win}
(bidirectional: a local layer's token sees tokens at distance <= {half}), RoPE bases 1e6
(full) and 1e4 (sliding); mean pooling (include_prompt true), Dense 32->128 and 128->32
(no bias, identity; the real 768->3072->768), Normalize; the real model's query
and document prompts (`task: search result | query: `, `title: none | text: `).

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family gemma` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32, eager attention), tokenizers {tok}. Every vector is
  `SentenceTransformer.encode(text, prompt_name=...)` of one text alone; `ids` are what it
  fed the model, checked equal to the `tokenizers` package's ids of tokenizer.json.
- Tokenizer: a STAND-IN (no Gemma tokenizer.json is on PyPI): Gemma's pipeline as
  transformers' GemmaTokenizer builds it, with the Llama 2 SentencePiece BPE vocabulary
  reduced; see the docstring of `Gemma.tokenizer` in the generator and
  tests/fixtures/models/README.md.
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range 0.15),
  then every RMSNorm weight (stored as an offset from 1) ~ N(0, 0.3^2) (generator seed + 1);
  Dense weights from sentence-transformers' init under `torch.manual_seed({seed2})`.
- Cases: {n}: every text as a query and as a document (prompts), one without a prompt;
  a 40-word text longer than the window. Each input is (prompt + text).strip(), as
  sentence-transformers up to 5.3 (EmbeddingGemma's release) built it (libemb's `strip` 1,
  which the tests convert with): the empty text's input is the prompt without its trailing space.
- Batch check: all texts in one padded batch; max abs difference to the single vectors =
  {diff:.3g} (golden/batch_check.json).
- golden/causal.json: the longest case's ids through the same folder with
  `use_bidirectional_attention` false (causal; sliding window `i - j < {win}`), as
  sentence-transformers computes it.

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(seed=self.seed, seed2=self.seed + 2, st=v["sentence_transformers"],
           tf=v["transformers"], torch=v["torch"], tok=v["tokenizers"], n=n_cases,
           diff=batch_diff, win=self.window, half=self.window // 2)
class ModernBert:
    """ModernBertModel shaped like Alibaba-NLP/gte-modernbert-base: CLS
    pooling, Normalize; RoPE (global 160000 / local 10000), GeGLU, no
    biases, a global layer every 3 of 5, local window 8 (4 each side)."""

    folder = "modernbert-st"
    seed = 20261208
    keep_ids = 3000   # GPT-2 vocabulary entries kept (ids < keep_ids), merges to match
    max_seq_length = 96
    layers = 5
    global_every = 3
    local_attention = 8
    # appended after the BPE vocabulary, in ModernBERT's order ([MASK] lstrip, as its file)
    specials = ["<|endoftext|>", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]

    def texts(self):
        specials = [
            "[CLS] hi [SEP] [MASK] [PAD] [UNK] done",
            "a [PAD] b",
            "mask[MASK]after and  [MASK]spaced",
            "<|endoftext|> and <s> are text here",
        ]
        return COMMON_TEXTS + specials + [
            long_text(40),    # beyond the local window several times
            long_text(300),   # truncated to max_seq_length, keeping [CLS] ... [SEP]
        ]

    def tokenizer(self, out):
        """tests/fixtures/tokenizers/modernbert-style-bpe (a stand-in for
        ModernBERT's tokenizer.json, which is on the hub only: GPT-2's real
        byte-level BPE under ModernBERT's pipeline, written by
        scripts/make_style_tokenizers.py) cut to ids < keep_ids, its six
        special tokens moved from 20000.. to keep_ids... Returns the
        vocabulary size."""
        src = "modernbert-style-bpe"
        moved = {20000 + k: self.keep_ids + k for k in range(len(self.specials))}
        size = reduce_tokenizer(src, out, self.keep_ids, moved)
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(TOKENIZERS, src, name), os.path.join(out, name))
        self.ids = {c: self.keep_ids + k for k, c in enumerate(self.specials)}
        return size

    def model(self, vocab_size):
        import torch
        from transformers import ModernBertConfig, ModernBertModel

        torch.manual_seed(self.seed)
        ids = self.ids
        cfg = ModernBertConfig(vocab_size=vocab_size, hidden_size=32,
                               num_hidden_layers=self.layers, num_attention_heads=4,
                               intermediate_size=48, max_position_embeddings=128,
                               norm_eps=1e-5, initializer_range=0.15, hidden_activation="gelu",
                               global_attn_every_n_layers=self.global_every,
                               local_attention=self.local_attention,
                               global_rope_theta=160000.0, local_rope_theta=10000.0,
                               pad_token_id=ids["[PAD]"], bos_token_id=ids["[CLS]"],
                               eos_token_id=ids["[SEP]"], cls_token_id=ids["[CLS]"],
                               sep_token_id=ids["[SEP]"], attn_implementation="eager")
        model = ModernBertModel(cfg)
        randomize(model, self.seed, {})
        return model.eval()

    def st_files(self, out):
        st_files(out, 32, self.max_seq_length, True, pooling={
            "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
            "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False})

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `modernbert-st`

Tiny random-weight model shaped like `Alibaba-NLP/gte-modernbert-base`
(ModernBertModel, model_type `modernbert`): hidden 32, {layers} layers, 4 heads
(head_dim 8), intermediate 48 (Wi 32 -> 96, GeGLU), max_position_embeddings 128,
norm_eps 1e-5, no biases (attention_bias, mlp_bias, norm_bias false, as the real
checkpoints), global attention every {every} layers (layers 0 and 3; 1, 2, 4 local),
local_attention {local} (keys within {half} positions either side), RoPE theta 160000
(global) / 10000 (local); CLS pooling, Normalize, max_seq_length {msl}, no prompts.

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family modernbert` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32, eager attention), tokenizers {tok}. Every vector is
  `SentenceTransformer.encode` of one text alone, after Python's `str.strip()` (libemb's
  `strip` 1, as sentence-transformers up to 5.3; 5.4 and later do not, and this
  byte-level tokenizer keeps whitespace, so the `input` field says what was encoded);
  `ids` are what it fed the model, checked equal to the `tokenizers` package's ids of
  tokenizer.json (truncation to {msl}, no padding).
- Tokenizer: a STAND-IN. ModernBERT's real tokenizer.json (OLMo's byte-level BPE,
  50368 entries) is only on the Hugging Face hub, which this project cannot reach, and
  no PyPI package carrying it was found. The stand-in is GPT-2's real byte-level BPE
  (tests/fixtures/tokenizers/gpt2-bpe, the hub file) cut to ids < {keep} and the first
  {merges} merges (exactly the ones making those ids), under the pipeline ModernBERT's
  file has: NFC normalizer, ByteLevel pre-tokenizer (no prefix space, GPT-2 regex), BPE
  without unk, TemplateProcessing `[CLS] $A [SEP]`, and the special tokens
  `<|endoftext|> [UNK] [CLS] [SEP] [PAD] [MASK]` appended at ids {keep}..{last}
  (`[MASK]` with lstrip, as ModernBERT's). What it does not have: ModernBERT's
  whitespace-run and `|||IP_ADDRESS|||`-style added tokens and its `[unused]` tail.
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range 0.15),
  then every LayerNorm weight ~ U(0.5, 1.5) (generator seed + 1); there are no biases.
- Cases: {n} texts, kind `none`; the 40-word text is several local windows long, the
  300-word one is truncated to {msl} tokens.
- Batch check: all texts in one padded batch; max abs difference to the single vectors =
  {diff:.3g} (golden/batch_check.json).
- Values are float32 printed with 9 significant digits.

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(seed=self.seed, st=v["sentence_transformers"], tf=v["transformers"],
           torch=v["torch"], tok=v["tokenizers"], keep=self.keep_ids,
           merges=self.keep_ids - 256, last=self.keep_ids + len(self.specials) - 1,
           n=n_cases, diff=batch_diff, layers=self.layers, every=self.global_every,
           local=self.local_attention, half=self.local_attention // 2,
           msl=self.max_seq_length)


class DecoderScaled:
    """A tiny decoder (llama, mistral, qwen2, qwen3) with RoPE scaling and/or
    sliding-window attention small enough that both matter on the texts:
    window 6-8 tokens, max_position_embeddings 32-128. Last-token pooling,
    Normalize, max_seq_length 128, no prompts. One instance per variant (see
    DECODER_VARIANTS); the tokenizer files are those of a committed decoder
    fixture (mistral-e5: SentencePiece BPE; qwen2-gte: byte-level BPE)."""

    seed = 20261208
    max_seq_length = 128

    def __init__(self, folder, model_type, tokenizer_from, config, old_spelling=None, note=""):
        self.folder = folder
        self.model_type = model_type
        self.tokenizer_from = tokenizer_from
        self.config = config
        self.old_spelling = old_spelling  # config.json's rope keys rewritten as transformers 4 wrote them
        self.note = note
        self.__doc__ = "%s: %s" % (model_type, note)

    def texts(self):
        # the blank text is left out: sentence-transformers' slow-path Llama
        # tokenizer and tokenizer.json split its whitespace differently
        return [t for t in COMMON_TEXTS if t.strip() or not t] + [
            long_text(30), long_text(60), long_text(200)]

    def tokenizer(self, out):
        src = os.path.join(FIXTURES, self.tokenizer_from)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
        with open(os.path.join(src, "config.json")) as f:
            return json.load(f)["vocab_size"]

    def model(self, vocab_size):
        import torch
        import transformers

        classes = {"llama": ("LlamaConfig", "LlamaModel"), "mistral": ("MistralConfig", "MistralModel"),
                   "qwen2": ("Qwen2Config", "Qwen2Model"), "qwen3": ("Qwen3Config", "Qwen3Model")}
        cfg_cls, model_cls = (getattr(transformers, n) for n in classes[self.model_type])
        torch.manual_seed(self.seed)
        with open(os.path.join(FIXTURES, self.tokenizer_from, "config.json")) as f:
            src = json.load(f)
        kw = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, intermediate_size=64, rms_norm_eps=1e-5,
                  initializer_range=0.2, bos_token_id=src.get("bos_token_id"),
                  eos_token_id=src.get("eos_token_id"), tie_word_embeddings=False)
        kw.update(self.config)
        model = model_cls(cfg_cls(**kw))
        g = torch.Generator().manual_seed(self.seed + 1)
        with torch.no_grad():  # RMSNorm weights ~ U(0.5, 1.5), biases ~ N(0, 0.1^2)
            for name, p in model.named_parameters():
                if name.endswith("norm.weight"):
                    p.copy_(torch.rand(p.shape, generator=g) + 0.5)
                elif name.endswith(".bias"):
                    p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        return model.eval()

    def after_save(self, out):
        """Rewrite the rope keys in the transformers 4 spelling (rope_scaling
        with "type", rope_theta at the top level), which transformers 5 still
        reads the same way."""
        if not self.old_spelling:
            return
        path = os.path.join(out, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        rp = cfg.pop("rope_parameters")
        cfg["rope_theta"] = rp["rope_theta"]
        cfg["rope_scaling"] = self.old_spelling
        write_json(path, cfg)

    def reset(self, st):
        """transformers' dynamic RoPE keeps the longest length seen: reset it
        so that each text is encoded as by a freshly loaded model."""
        rot = st[0].auto_model.rotary_emb
        rot.register_buffer("inv_freq", rot.original_inv_freq.clone(), persistent=False)
        rot.max_seq_len_cached = rot.original_max_seq_len

    def st_files(self, out):
        st_files(out, 32, self.max_seq_length, True,
                 pooling={"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
                          "pooling_mode_max_tokens": False,
                          "pooling_mode_mean_sqrt_len_tokens": False,
                          "pooling_mode_lasttoken": True, "include_prompt": True})

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `{folder}`

Tiny random-weight `{mt}` decoder: {note}
hidden 32, 2 layers, 4 heads / 2 kv heads (head_dim 8), ffn 64, rms_norm_eps 1e-5;
config: `{cfg}`{old}.
Last-token pooling, Normalize, max_seq_length {msl}, no prompts.

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family {folder}` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32), tokenizers {tok}. Every vector is `SentenceTransformer.encode` of one
  text alone, the rotary embedding's dynamic state reset before each text (transformers'
  dynamic RoPE keeps the longest length it has seen; a text is encoded here as by a freshly
  loaded model); `ids` are what it fed the model, checked equal to the `tokenizers`
  package's ids of tokenizer.json.
- Tokenizer: the files of the committed `{tokfrom}` fixture, unchanged.
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range 0.2),
  then RMSNorm weights ~ U(0.5, 1.5), biases ~ N(0, 0.1^2) (generator seed + 1).
- Cases: {n} texts, kind `none`; three long texts (about 40, 80 and 128 tokens, the last
  truncated to max_seq_length) pass both the window and max_position_embeddings.
- Batch check: all texts in one right-padded batch; max abs difference to the single
  vectors = {diff:.3g} (golden/batch_check.json). With dynamic RoPE transformers computes
  the frequencies of a batch from its padded length, so a short text's vector depends on
  its batch-mates there; libemb computes each text as encoded alone (batch == single).
- Values are float32 printed with 9 significant digits.

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(folder=self.folder, mt=self.model_type, note=self.note,
           cfg=json.dumps(self.config, sort_keys=True),
           old=("; config.json rewritten with the transformers 4 spelling `rope_scaling` = `%s`"
                % json.dumps(self.old_spelling)) if self.old_spelling else "",
           msl=self.max_seq_length, seed=self.seed, st=v["sentence_transformers"],
           tf=v["transformers"], torch=v["torch"], tok=v["tokenizers"],
           tokfrom=self.tokenizer_from, n=n_cases, diff=batch_diff)


DECODER_VARIANTS = [
    DecoderScaled("llama-rope-linear", "llama", "mistral-e5",
                  {"max_position_embeddings": 64,
                   "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}},
                  old_spelling={"type": "linear", "factor": 2.0},
                  note="linear RoPE scaling (factor 2), written as transformers 4 did."),
    DecoderScaled("llama-rope-llama3", "llama", "mistral-e5",
                  {"max_position_embeddings": 256,
                   "rope_parameters": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 64,
                                       "rope_theta": 10000.0}},
                  note="Llama 3.1 RoPE (factor 8, low 1, high 4, original 64: each band of "
                       "head_dim 8 is hit)."),
    DecoderScaled("mistral-window-dynamic", "mistral", "mistral-e5",
                  {"max_position_embeddings": 32, "sliding_window": 8,
                   "rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}},
                  note="sliding window 8 on every layer, dynamic NTK RoPE (factor 2) past "
                       "max_position_embeddings 32."),
    DecoderScaled("qwen2-window-yarn", "qwen2", "qwen2-gte",
                  {"max_position_embeddings": 128, "use_sliding_window": True, "sliding_window": 8,
                   "max_window_layers": 1,
                   "rope_parameters": {"rope_type": "yarn", "factor": 4.0,
                                       "original_max_position_embeddings": 32,
                                       "rope_theta": 100.0}},
                  note="q/k/v biases, sliding window 8 on layer 1 (max_window_layers 1), YaRN "
                       "(factor 4, original 32, rope_theta 100: a fractional ramp)."),
    DecoderScaled("qwen3-layer-types", "qwen3", "qwen2-gte",
                  {"max_position_embeddings": 512, "head_dim": 8, "use_sliding_window": True,
                   "sliding_window": 6, "layer_types": ["sliding_attention", "full_attention"],
                   "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}},
                  note="q/k norms, sliding window 6 on layer 0 as `layer_types` says."),
]


class NomicBert:
    """NomicBertModel (transformers' port of nomic's remote code) shaped like
    nomic-ai/nomic-embed-text-v1.5: RoPE (base 1000), SwiGLU, no biases,
    post-norm, saved with the original's fused Wqkv names; mean pooling,
    Normalize, search_query: / search_document: prompts; bert-base-uncased
    WordPiece."""

    folder = "nomic-st"
    seed = 20261208
    keep_ids = 3000   # bert-base-uncased ids kept (unchanged; its specials are all below)
    max_seq_length = 8192
    prompts = {"search_query": "search_query: ", "search_document": "search_document: ",
               "classification": "classification: ", "clustering": "clustering: "}

    def texts(self):
        specials = ["[CLS] hi [SEP] [MASK] [PAD] [UNK] done", "search_query: typed by hand"]
        return COMMON_TEXTS + specials + [long_text(300)]

    def kinds(self):
        """(kind, prompt_name) of each text: the first 7 as queries, the rest
        as documents, and the specials line without a prompt."""
        n = len(self.texts())
        out = []
        for i in range(n):
            if i < 7:
                out.append(("query", "search_query"))
            elif i == len(COMMON_TEXTS):
                out.append(("none", None))
            else:
                out.append(("passage", "search_document"))
        return out

    def tokenizer(self, out):
        """tests/fixtures/tokenizers/bert-uncased (the real bert-base-uncased
        tokenizer.json nomic-embed-text ships) with the vocabulary cut to ids
        < keep_ids; model_max_length 8192 as nomic's tokenizer_config.json.
        Returns the tokenizer's vocabulary size."""
        src = os.path.join(ROOT, "tests", "fixtures", "tokenizers", "bert-uncased")
        with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
            tok = json.load(f)
        tok["model"]["vocab"] = {t: i for t, i in tok["model"]["vocab"].items() if i < self.keep_ids}
        for added in tok["added_tokens"]:
            assert added["id"] < self.keep_ids, added
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)
        with open(os.path.join(src, "tokenizer_config.json")) as f:
            tc = json.load(f)
        tc.pop("name_or_path", None)
        tc["model_max_length"] = 8192
        write_json(os.path.join(out, "tokenizer_config.json"), tc)
        shutil.copy(os.path.join(src, "special_tokens_map.json"),
                    os.path.join(out, "special_tokens_map.json"))
        return self.keep_ids

    def model(self, vocab_size):
        import torch
        from transformers import NomicBertConfig, NomicBertModel

        torch.manual_seed(self.seed)
        cfg = NomicBertConfig(vocab_size=vocab_size + 8, hidden_size=32, num_hidden_layers=2,
                              num_attention_heads=4, intermediate_size=64,
                              max_position_embeddings=2048, type_vocab_size=2,
                              layer_norm_eps=1e-12, initializer_range=0.15, pad_token_id=0,
                              hidden_act="silu",
                              rope_parameters={"rope_theta": 1000.0, "rope_type": "default"})
        model = NomicBertModel(cfg)
        randomize(model, self.seed, {"embeddings.token_type_embeddings.weight": 0.5})
        return model.eval()

    def st_files(self, out):
        st_files(out, 32, self.max_seq_length, True)
        with open(os.path.join(out, "config_sentence_transformers.json")) as f:
            cst = json.load(f)
        cst["prompts"] = self.prompts
        cst["default_prompt_name"] = None
        write_json(os.path.join(out, "config_sentence_transformers.json"), cst)

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `nomic-st`

Tiny random-weight model shaped like `nomic-ai/nomic-embed-text-v1.5` (model_type
`nomic_bert`): hidden 32, 2 layers, 4 heads (head_dim 8), intermediate 64, vocab
3008 (the tokenizer's 3000 ids plus 8 unused rows, as the real 30528 pads 30522),
type_vocab_size 2, layer_norm_eps 1e-12, RoPE theta 1000 over whole heads
(non-interleaved), SwiGLU MLP, no biases, post-norm; mean pooling, Normalize,
max_seq_length 8192 (capped at max_position_embeddings 2048 by libemb), prompts
search_query: / search_document: / classification: / clustering:.

## The reference
transformers {tf}'s native `NomicBertModel` (HF's port of nomic-ai's
trust_remote_code `modeling_hf_nomic_bert.py`), run through sentence-transformers.
`save_pretrained` writes the original checkpoint's tensor names
(`encoder.layers.N.attn.Wqkv`, `mlp.fc11`/`fc12`/`fc2`, `norm1`/`norm2`, `emb_ln`:
transformers' conversion mapping, reversed) and a config.json in transformers'
spelling (hidden_size, rope_parameters, ...). nomic's original file itself was not
run (it is on no package index; PyPI `nomic` is an API client and `contrastors` is
not published); it was read (public GitHub copy aahrong/nomic-embed-text-v1.5 @
3185eb0cda4624b21ca40e3909242b1240f34a99) to check that the port computes the same
graph for the released configs: rotate_half RoPE over whole heads at positions
0..n-1 (rotary_emb_fraction 1, not interleaved, no scale base), post-norm blocks,
fc11 · silu(fc12), word + token_type[0] embeddings then emb_ln, no biases.

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family nomic_bert` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32), tokenizers {tok}. Every vector is `SentenceTransformer.encode` of one
  input alone: the prompt (`search_query: ` for the first 7 texts, `search_document: `
  for the others, none for the specials line) + the text, `str.strip()`-ed (as
  sentence-transformers up to 5.3: libemb's `strip` 1); `ids` are what it fed the model, checked equal to the `tokenizers`
  package's ids of tokenizer.json (truncation to 8192, no padding).
- Vocabulary is REDUCED: the real bert-base-uncased tokenizer.json
  (tests/fixtures/tokenizers/bert-uncased, the tokenizer nomic-embed-text ships) cut to
  ids < {keep} (specials [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103 kept);
  tokenizer_config.json with model_max_length 8192.
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range
  0.15), then LayerNorm weights ~ U(0.5, 1.5), LayerNorm biases ~ N(0, 0.2^2) and
  `embeddings.token_type_embeddings.weight` ~ N(0, 0.5^2) (generator seed + 1).
- Cases: {n} texts; a 300-word document.
- Batch check: all inputs in one padded batch; max abs difference to the single
  vectors = {diff:.3g} (golden/batch_check.json).
- Values are float32 printed with 9 significant digits.

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(seed=self.seed, st=v["sentence_transformers"], tf=v["transformers"],
           torch=v["torch"], tok=v["tokenizers"], keep=self.keep_ids, n=n_cases,
           diff=batch_diff)


class Gte:
    """GteModel (transformers' port of Alibaba-NLP's NewModel) shaped like
    Alibaba-NLP/gte-multilingual-base: RoPE theta 160000, fused qkv_proj and
    up_gate_proj (GeGLU), biases, post-norm, one token type; CLS pooling,
    Normalize; XLM-R-pipeline Unigram tokenizer. config.json is written in
    Alibaba's own NewConfig spelling (model_type "new"), as the real
    checkpoint ships it, after the goldens are made."""

    folder = "gte-new"
    seed = 20261209
    keep_ids = 1500
    max_seq_length = 8192
    theta = 160000.0
    type_vocab_size = 1       # gte-multilingual-base: one token type (randomized)
    pad_token_id = 1          # XLM-R's <pad>

    def texts(self):
        # no texts with literal special tokens: transformers 5's XLM-R tokenizer
        # splits the spaces around them differently from the tokenizers package
        return COMMON_TEXTS + [long_text(300)]

    def tokenizer(self, out):
        """The xlmr-me5 fixture's tokenizer (an XLM-R-pipeline Unigram, see
        that fixture's golden/README.md) with its vocabulary cut further to
        the first keep_ids pieces (ids unchanged) and <mask> moved to
        keep_ids, to keep this fixture under 1 MB. Returns the vocabulary
        size."""
        src = os.path.join(FIXTURES, "xlmr-me5")
        with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
            tok = json.load(f)
        vocab = tok["model"]["vocab"]
        assert vocab[-1][0] == "<mask>"
        tok["model"]["vocab"] = vocab[:self.keep_ids] + [vocab[-1]]
        for added in tok["added_tokens"]:
            if added["content"] == "<mask>":
                added["id"] = self.keep_ids
            assert added["id"] <= self.keep_ids, added
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)
        for f in ("tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(src, f), os.path.join(out, f))
        return self.keep_ids + 1

    def model(self, vocab_size):
        import torch
        from transformers import GteConfig, GteModel

        torch.manual_seed(self.seed)
        cfg = GteConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64,
                        max_position_embeddings=self.max_seq_length,
                        type_vocab_size=self.type_vocab_size, layer_norm_eps=1e-12,
                        initializer_range=0.15, pad_token_id=self.pad_token_id,
                        hidden_act="gelu",
                        rope_parameters={"rope_theta": self.theta, "rope_type": "default"})
        model = GteModel(cfg)
        extra = {"embeddings.token_type_embeddings.weight": 0.5} if self.type_vocab_size else {}
        randomize(model, self.seed, extra)
        return model.eval()

    def st_files(self, out):
        st_files(out, 32, self.max_seq_length, True, pooling={
            "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
            "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False})

    def finish(self, out):
        """config.json as Alibaba's NewConfig writes it (the real
        gte-multilingual-base's keys), replacing transformers' GteConfig."""
        with open(os.path.join(out, "config.json")) as f:
            c = json.load(f)
        write_json(os.path.join(out, "config.json"), {
            "architectures": ["NewModel"], "model_type": "new",
            "vocab_size": c["vocab_size"], "hidden_size": c["hidden_size"],
            "num_hidden_layers": c["num_hidden_layers"],
            "num_attention_heads": c["num_attention_heads"],
            "intermediate_size": c["intermediate_size"], "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.0,
            "max_position_embeddings": c["max_position_embeddings"], "type_vocab_size": 1,
            "initializer_range": c["initializer_range"], "layer_norm_type": "layer_norm",
            "layer_norm_eps": c["layer_norm_eps"], "position_embedding_type": "rope",
            "rope_theta": self.theta, "rope_scaling": None, "classifier_dropout": None,
            "pack_qkv": True, "unpad_inputs": False, "use_memory_efficient_attention": False,
            "logn_attention_scale": False, "logn_attention_clip1": False, "pad_token_id": 1,
            "torch_dtype": "float32"})

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `gte-new`

Tiny random-weight model shaped like `Alibaba-NLP/gte-multilingual-base` (model_type
`new`, Alibaba's NewModel): hidden 32, 2 layers, 4 heads (head_dim 8), intermediate
64, vocab 1501, type_vocab_size 1, layer_norm_eps 1e-12, RoPE theta 160000 (no
scaling), fused qkv_proj and up_gate_proj (GeGLU, exact gelu), biases on qkv, o and
down, post-norm; CLS pooling, Normalize, max_seq_length 8192, no prompts.

## The reference
transformers {tf}'s native `GteModel` (HF's port of Alibaba-NLP's trust_remote_code
NewModel), run through sentence-transformers with a GteConfig (model_type `gte`).
`save_pretrained` writes the original checkpoint's tensor names
(`encoder.layer.N.attention.qkv_proj`, `attention.o_proj`, `attn_ln`,
`mlp.up_gate_proj`, `mlp.down_proj`, `mlp_ln`, `embeddings.LayerNorm`). After the
goldens, config.json is rewritten in Alibaba's own NewConfig spelling (model_type
`new`, rope_theta, position_embedding_type rope, pack_qkv, ...) as the real checkpoint
ships it: that is what the converter reads here. Alibaba's original modeling.py was
not run (on no package index); it was read (a public copy of Alibaba-NLP/new-impl's
modeling.py) to check that the port computes the same graph for an unscaled config:
word + token_type[0] embeddings then LayerNorm, rotate_half RoPE at positions
0..n-1, qkv_proj split in q | k | v, o_proj, attn_ln(x + attn), up_gate_proj split in
up | gate, down_proj(up · gelu(gate)), mlp_ln(x + mlp). NOT covered: `rope_scaling`
{{"type": "ntk"}} (gte-base/large-en-v1.5), which libemb refuses.

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family gte` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32), tokenizers {tok}. Every vector is `SentenceTransformer.encode` of one
  text alone, `str.strip()`-ed (as sentence-transformers up to 5.3: libemb's `strip` 1); `ids` are what it fed the model,
  checked equal to the `tokenizers` package's ids of tokenizer.json (truncation to
  8192, no padding).
- Tokenizer: the xlmr-me5 fixture's (an XLM-R-pipeline Unigram, NOT the real XLM-R
  vocabulary: see tests/fixtures/models/xlmr-me5/golden/README.md) cut further to its
  first {keep} pieces, `<mask>` moved to {keep} (vocab_size {keep} + 1).
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range
  0.15), then LayerNorm weights ~ U(0.5, 1.5), LayerNorm biases ~ N(0, 0.2^2), Linear
  biases ~ N(0, 0.1^2) and `embeddings.token_type_embeddings.weight` ~ N(0, 0.5^2)
  (generator seed + 1).
- Cases: {n} texts; a 300-word text.
- Batch check: all texts in one padded batch; max abs difference to the single
  vectors = {diff:.3g} (golden/batch_check.json).
- Values are float32 printed with 9 significant digits.

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(seed=self.seed, st=v["sentence_transformers"], tf=v["transformers"],
           torch=v["torch"], tok=v["tokenizers"], n=n_cases, diff=batch_diff,
           keep=self.keep_ids)


class GteEn(Gte):
    """GteModel shaped like Alibaba-NLP/gte-base-en-v1.5: RoPE theta 500000
    with NewModel's fixed NTK scaling (rope_scaling ntk, factor 2), no token
    types; CLS pooling, Normalize; bert-base-uncased WordPiece. transformers'
    GteModel has no ntk type: its rotary inv_freq is replaced, after
    sentence-transformers loads it, by NewModel's NTKScalingRotaryEmbedding
    formula (our transcription, patch())."""

    folder = "gte-en"
    seed = 20261210
    keep_ids = 3000
    theta = 500000.0
    ntk = 2.0
    type_vocab_size = 0       # gte-base-en-v1.5: no token types
    pad_token_id = 0          # bert-base-uncased's [PAD]

    def texts(self):
        return COMMON_TEXTS + ["[CLS] hi [SEP] [MASK] [PAD] [UNK] done", long_text(300)]

    def tokenizer(self, out):
        return NomicBert.tokenizer(self, out)

    def patch(self, st):
        """NewModel's NTKScalingRotaryEmbedding (modeling.py of
        Alibaba-NLP/new-impl): base' = base · factor, inv_freq = 1 /
        base'^(arange(0, dim, 2) / dim) / factor^(2 / dim), for every length."""
        import torch

        n = 0
        for m in st.modules():
            if type(m).__name__ == "GteRotaryEmbedding":
                dim = m.inv_freq.shape[0] * 2
                base = self.theta * self.ntk
                inv = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
                inv = inv / self.ntk ** (2 / dim)
                m.inv_freq = inv
                m.original_inv_freq = inv.clone()
                n += 1
        assert n == 1, n

    def finish(self, out):
        Gte.finish(self, out)
        with open(os.path.join(out, "config.json")) as f:
            c = json.load(f)
        c["type_vocab_size"] = 0
        c["pad_token_id"] = 0
        c["rope_scaling"] = {"type": "ntk", "factor": self.ntk}
        write_json(os.path.join(out, "config.json"), c)

    def readme(self, n_cases, batch_diff):
        v = versions()
        return """# Golden vectors for `gte-en`

Tiny random-weight model shaped like `Alibaba-NLP/gte-base-en-v1.5` (model_type `new`):
hidden 32, 2 layers, 4 heads (head_dim 8), intermediate 64, vocab 3000, no token types
(type_vocab_size 0), layer_norm_eps 1e-12, RoPE theta 500000 with `rope_scaling`
{{"type": "ntk", "factor": 2.0}}, fused qkv_proj and up_gate_proj (GeGLU, exact gelu),
biases on qkv, o and down, post-norm; CLS pooling, Normalize, max_seq_length 8192.

## The reference
transformers {tf}'s native `GteModel` (HF's port of Alibaba-NLP's NewModel), run through
sentence-transformers, with ONE part transcribed: transformers has no `ntk` RoPE type,
so after loading, the rotary `inv_freq` is replaced by NewModel's
`NTKScalingRotaryEmbedding` formula (Alibaba-NLP/new-impl modeling.py, read through a
public copy; `GteEn.patch` in scripts/make_model_fixtures.py): base' = rope_theta ·
factor, inv_freq = 1 / base'^(arange(0, dim, 2) / dim) / factor^(2 / dim), the same for
every sequence length (its cache is built for max_position_embeddings · factor at
init). The NTK part is therefore checked against our reading of the original, not
against running it. config.json is then written in Alibaba's NewConfig spelling, as
the real checkpoint ships it. Everything else as the `gte-new` fixture's README says.

## How they were produced
- Generator: `scripts/make_model_fixtures.py --family gte_en` (committed; seed {seed}).
- Reference stack (PyPI): sentence-transformers {st}, transformers {tf}, torch {torch}
  (CPU, float32), tokenizers {tok}; one text at a time, `ids` checked equal to the
  `tokenizers` package's.
- Tokenizer: the real bert-base-uncased tokenizer.json (tests/fixtures/tokenizers/
  bert-uncased, the one gte-base-en-v1.5 ships) cut to ids < {keep}.
- Weights: `torch.manual_seed({seed})`, transformers' own init (initializer_range
  0.15), then LayerNorm weights ~ U(0.5, 1.5), LayerNorm biases ~ N(0, 0.2^2), Linear
  biases ~ N(0, 0.1^2) (generator seed + 1).
- Cases: {n} texts; a 300-word text.
- Batch check: all texts in one padded batch; max abs difference to the single
  vectors = {diff:.3g} (golden/batch_check.json).

## Tolerance
Max abs difference <= 1e-4 per component; `ids` exact.
""".format(seed=self.seed, st=v["sentence_transformers"], tf=v["transformers"],
           torch=v["torch"], tok=v["tokenizers"], n=n_cases, diff=batch_diff,
           keep=self.keep_ids)


class StModules:
    """The tiny BERT of tests/fixtures/models/bert-e5 (its config.json,
    model.safetensors and tokenizer files, copied unchanged) with other
    sentence-transformers modules after it, written by hand in the layout
    sentence-transformers saves (modules.json, 1_Pooling/config.json,
    N_Dense/{config.json, model.safetensors}). Its cases are bert-e5's
    golden texts with their prompts, each encoded as a user calls it,
    `encode(text, prompt_name=kind)` (the prompt must be known to
    sentence-transformers for include_prompt false), and batched per kind;
    `input` and `ids` are bert-e5's (checked equal to this model's). Dense
    weights: torch.manual_seed(seed), nn.Linear's own init, then the biases
    ~ N(0, 0.1^2) from a generator seeded with seed + 1. Vectors are written
    as the first generator (scripts/make_st_fixtures.py, folded in here) did,
    a JSON list of the 9-significant-digit values, so regenerating
    reproduces the files byte for byte."""

    seed = 20261207
    max_seq_length = 64       # bert-e5's sentence_bert_config.json
    encode_text = True        # encode(text, prompt_name), batches per kind
    base_files = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                  "special_tokens_map.json", "sentence_bert_config.json",
                  "config_sentence_transformers.json"]

    @staticmethod
    def fmt_vector(v):
        return json.dumps([float("%.9g" % x) for x in v])

    def base_cases(self):
        with open(os.path.join(FIXTURES, "bert-e5", "golden", "cases.jsonl"),
                  encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def cases(self):
        return [(c["text"], c["kind"], c["prompt_name"]) for c in self.base_cases()]

    def files(self, out):
        """The folder: bert-e5's files, then this family's modules."""
        import torch

        for name in self.base_files:
            shutil.copy(os.path.join(FIXTURES, "bert-e5", name), os.path.join(out, name))
        gen = torch.Generator().manual_seed(self.seed + 1)
        torch.manual_seed(self.seed)
        self.modules(out, gen)

    def verify_ids(self, inputs, ids):
        """The ids fed the model are bert-e5's golden ids, and so are its inputs."""
        for c, inp, got in zip(self.base_cases(), inputs, ids):
            if (inp, got) != (c["input"], c["ids"]):
                sys.exit("make_model_fixtures: %s: %r: input or ids differ from bert-e5's"
                         % (self.folder, c["text"][:40]))

    def readme(self, n_cases, batch_diff):
        v = versions()
        return ("# Golden vectors for `%s`\n\n%s\n"
                "Generated by scripts/make_model_fixtures.py --family %s (seed %d) with torch %s, "
                "transformers %s, sentence-transformers %s, CPU, float32, one thread:\n"
                "SentenceTransformer(folder).encode(text, prompt_name=kind) one text at a time, "
                "vectors of %d\nfloats printed with 9 significant digits; `ids` are bert-e5's "
                "golden ids (checked equal to this\nmodel's tokenization). Tolerance: max abs "
                "1e-4 per component; ids exact.\n"
                % (self.folder, self.summary, self.folder, self.seed, v["torch"],
                   v["transformers"], v["sentence_transformers"], self.dim))


def write_dense(folder, name, in_f, out_f, act, gen):
    """N_Dense/ as sentence-transformers saves a Dense module, its bias
    ~ N(0, 0.1^2) from gen."""
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense

    dense = Dense(in_f, out_f, bias=True, activation_function=act)
    with torch.no_grad():
        dense.linear.bias.copy_(torch.randn(out_f, generator=gen) * 0.1)
    os.makedirs(os.path.join(folder, name))
    dense.save(os.path.join(folder, name))


class BertDense(StModules):
    """bert-e5 + Pooling max (legacy pooling_mode_* keys); Dense 32->64 Tanh;
    Dense 64->16 Identity; Normalize."""

    folder = "bert-dense"
    dim = 16
    summary = ("Tiny BERT (bert-e5) + Pooling max + Dense 32->64 Tanh + Dense 64->16 Identity + "
               "Normalize.")

    def modules(self, out, gen):
        import torch

        write_st_modules(out, ["Pooling", "Dense", "Dense", "Normalize"])
        write_json(os.path.join(out, "1_Pooling", "config.json"), {
            "word_embedding_dimension": 32, "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True,
            "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False, "include_prompt": True})
        write_dense(out, "2_Dense", 32, 64, torch.nn.Tanh(), gen)
        write_dense(out, "3_Dense", 64, 16, torch.nn.Identity(), gen)


class BertNoPrompt(StModules):
    """bert-e5 + Pooling ("cls", "mean", "mean_sqrt_len_tokens",
    "weightedmean") concatenated, include_prompt false (the query/passage
    prompts are left out of every mode), no Normalize (new-style
    "pooling_mode" list)."""

    folder = "bert-noprompt"
    dim = 128
    summary = ("Tiny BERT (bert-e5) + Pooling (cls, mean, mean_sqrt_len_tokens, weightedmean "
               "concatenated: 128 floats) with include_prompt false; no Normalize.")

    def modules(self, out, gen):
        del gen
        write_st_modules(out, ["Pooling"])
        write_json(os.path.join(out, "1_Pooling", "config.json"), {
            "embedding_dimension": 32,
            "pooling_mode": ["cls", "mean", "mean_sqrt_len_tokens", "weightedmean"],
            "include_prompt": False})


FAMILIES = {"mpnet": Mpnet, "roberta": Roberta, "camembert": Camembert,
            "distilbert": Distilbert, "nomic_bert": NomicBert, "gte": Gte, "gte_en": GteEn,
            "gemma": Gemma,
            "modernbert": ModernBert, "bert-dense": BertDense, "bert-noprompt": BertNoPrompt}
FAMILIES.update({v.folder: (lambda v=v: v) for v in DECODER_VARIANTS})


# ------------------------------------------------------------------ build

def encode_cases(family, st, raw, cases, inputs):
    """sentence-transformers' vector of each input encoded alone (or, for a
    family with encode_text, of the text with its prompt_name, as a user
    calls encode), and the cases.jsonl line of each (text, kind,
    prompt_name) case; its ids checked equal to the `tokenizers` package's.
    Returns (lines, vectors)."""
    import torch

    fmt = getattr(family, "fmt_vector", fmt_vec)
    lines, single = [], []
    for (text, kind, pn), inp in zip(cases, inputs):
        if hasattr(family, "reset"):
            family.reset(st)
        with torch.no_grad():
            if getattr(family, "encode_text", False):
                v = st.encode([text], prompt_name=pn, convert_to_numpy=True)[0]
            else:
                v = st.encode([inp], batch_size=1, convert_to_numpy=True)[0]
        ids = st.tokenize([inp])["input_ids"][0].tolist()
        want = raw.encode(inp, add_special_tokens=True).ids
        if ids != want:
            sys.exit("make_model_fixtures: %r: sentence-transformers ids %s differ from the "
                     "tokenizers package's %s" % (inp[:40], ids, want))
        single.append(v)
        lines.append('{"text": %s, "kind": "%s", "prompt_name": %s, "input": %s, "ids": %s, '
                     '"vector": %s}' % (json.dumps(text, ensure_ascii=False), kind,
                                        json.dumps(pn), json.dumps(inp, ensure_ascii=False),
                                        json.dumps(ids), fmt(v)))
    return lines, single


def batch_diff(family, st, cases, inputs, single):
    """The largest difference between the single vectors and the same inputs
    encoded in one padded batch (encode_text families: each kind's texts in
    one batch with its prompt_name)."""
    import numpy as np
    import torch

    with torch.no_grad():
        if not getattr(family, "encode_text", False):
            batch = st.encode(inputs, batch_size=len(inputs), convert_to_numpy=True)
            return float(np.abs(batch - single).max())
        worst = 0.0
        for kind in sorted({c[1] for c in cases}):
            idx = [i for i, c in enumerate(cases) if c[1] == kind]
            batch = st.encode([cases[i][0] for i in idx], prompt_name=cases[idx[0]][2],
                              convert_to_numpy=True, batch_size=len(idx))
            worst = max(worst, float(np.abs(batch - single[idx]).max()))
        return worst


# Texts with surrounding whitespace (Python str.isspace(): ASCII, U+00A0,
# U+3000) for the strip decision's goldens.
WHITESPACE_TEXTS = [
    "  leading spaces",
    "trailing spaces  ",
    "\tboth sides\n",
    "  leading and trailing spaces  ",
    " ",
    "\u3000ideographic and no-break spaces\u00a0",
]


WHITESPACE_README = """\
- golden/whitespace.jsonl: texts with leading/trailing whitespace (ASCII, U+3000, U+00A0)
  encoded as is, as sentence-transformers 5.4 and later do (libemb's default);
  golden/whitespace-strip.jsonl: the same texts `str.strip()`-ed, as up to 5.3 (`emb convert
  --strip yes`). Each text's ids differ between the two.
"""


def whitespace_goldens(family, st, raw, out):
    """golden/whitespace.jsonl: WHITESPACE_TEXTS as sentence-transformers
    6.x encodes them (the text as is: libemb's default); and
    golden/whitespace-strip.jsonl: the same texts str.strip()-ed, as
    sentence-transformers up to 5.x did (`emb convert --strip yes`). Every
    text's ids differ between the two (the tokenizer sees the spaces)."""
    cases = [(t, "none", None) for t in WHITESPACE_TEXTS]
    for name, inputs in (("whitespace.jsonl", WHITESPACE_TEXTS),
                         ("whitespace-strip.jsonl", [t.strip() for t in WHITESPACE_TEXTS])):
        lines, _ = encode_cases(family, st, raw, cases, inputs)
        with open(os.path.join(out, "golden", name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    for t in WHITESPACE_TEXTS:
        if raw.encode(t).ids == raw.encode(t.strip()).ids:
            sys.exit("make_model_fixtures: %r: stripping does not change the ids" % t)


def build(family):
    import numpy as np
    import tokenizers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    out = os.path.join(FIXTURES, family.folder)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    if hasattr(family, "files"):  # a folder made from another fixture's files
        family.files(tmp)
    else:
        vocab_size = family.tokenizer(tmp)
        model = family.model(vocab_size)
        model.save_pretrained(tmp, safe_serialization=True)
        if hasattr(family, "after_save"):
            family.after_save(tmp)
        family.st_files(tmp)

    st = SentenceTransformer(tmp, device="cpu")
    st.eval()
    if hasattr(family, "patch"):  # a part transformers does not do (see its README)
        family.patch(st)
    raw = tokenizers.Tokenizer.from_file(os.path.join(tmp, "tokenizer.json"))
    raw.no_padding()
    raw.enable_truncation(family.max_seq_length)
    # (text, kind, prompt_name) per case: a family's cases(), else its texts
    # with their kinds() (families with prompts say), else without prompts
    if hasattr(family, "cases"):
        cases = family.cases()
    else:
        kinds = family.kinds() if hasattr(family, "kinds") else [("none", None)] * len(family.texts())
        cases = [(t, kind, pn) for t, (kind, pn) in zip(family.texts(), kinds)]
    # the model's input is (prompt + text) str.strip()-ed, as sentence-transformers
    # up to 5.3 built it (libemb's `strip` 1; 5.4 and later, and libemb's default,
    # feed it as is: the same ids for WordPiece, not for byte-level or
    # SentencePiece BPE: see whitespace_goldens); with include_prompt the prompt
    # is just part of it
    inputs = [((st.prompts[pn] if pn else "") + text).strip() for text, _, pn in cases]
    lines, single = encode_cases(family, st, raw, cases, inputs)
    if hasattr(family, "verify_ids"):
        family.verify_ids(inputs, [json.loads(l)["ids"] for l in lines])
    if hasattr(family, "reset"):
        family.reset(st)
    diff = batch_diff(family, st, cases, inputs, np.stack(single))
    os.makedirs(os.path.join(tmp, "golden"))
    with open(os.path.join(tmp, "golden", "cases.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    write_json(os.path.join(tmp, "golden", "batch_check.json"),
               {"max_abs_diff_single_vs_batch": diff, "batch_padding_side": "right",
                "batch_pad_token_id": st.tokenizer.pad_token_id, "num_cases": len(cases)})
    if getattr(family, "whitespace_goldens", False):
        whitespace_goldens(family, st, raw, tmp)
    if hasattr(family, "extra_goldens"):  # a family's own further reference vectors
        family.extra_goldens(tmp, cases, [json.loads(l)["ids"] for l in lines])
    with open(os.path.join(tmp, "golden", "README.md"), "w") as f:
        f.write(family.readme(len(cases), diff))
        if hasattr(family, "verify"):   # a family's own check of the folder
            f.write(family.verify(tmp, inputs, np.stack(single)))
    if hasattr(family, "finish"):  # e.g. config.json in the original checkpoint's spelling
        family.finish(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print("make_model_fixtures: wrote %s (%d cases, batch diff %.3g)"
          % (os.path.relpath(out, ROOT), len(cases), diff), file=sys.stderr)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", action="append", choices=sorted(FAMILIES),
                    help="family to build (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the families and their folders")
    a = ap.parse_args(argv)
    if a.list or not a.family:
        for name, cls in sorted(FAMILIES.items()):
            print("%-22s tests/fixtures/models/%s  %s"
                  % (name, cls().folder, (cls().__doc__ or "").split("\n")[0]))
        return 0
    for name in a.family:
        build(FAMILIES[name]())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
