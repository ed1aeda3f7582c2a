#!/usr/bin/env python3
"""Constructed stand-ins for tokenizer.json files that cannot be had offline.

The real roberta-base / all-distilroberta-v1, camembert-base and ModernBERT
tokenizer.json files are on the Hugging Face hub only (no PyPI package carries them), so this
script puts REAL vocabularies already in tests/fixtures/tokenizers/ under the
exact pipelines of those families and writes each folder's expected.jsonl
with the PyPI `tokenizers` package (the version is recorded in SOURCE.md):

  roberta-style-bpe/        GPT-2's real byte-level BPE vocabulary and merges
                            (../gpt2-bpe) under roberta-base's tokenizer.json
                            pipeline: no normalizer, ByteLevel(add_prefix_space
                            false) pre-tokenizer, BPE without unk,
                            RobertaProcessing <s> ... </s>; <s>=0, <pad>=1,
                            </s>=2, <unk>=3, then GPT-2's tokens in their order
                            (ids + 4; <|endoftext|> removed), <mask> last
                            (added, lstrip, as roberta-base's).
  camembert-style-unigram/  t5-small's real SentencePiece Unigram vocabulary
                            and Precompiled charsmap (../t5-unigram) under the
                            pipeline transformers' CamembertTokenizer builds:
                            CamemBERT's id layout (<s>NOTUSED=0, <pad>=1,
                            </s>NOTUSED=2, <unk>=3, <unk>NOTUSED=4 at -100,
                            <s>=5, </s>=6, the pieces, <mask> last), made by
                            transformers.CamembertTokenizer itself and saved
                            with save_pretrained.
  gemma-style-bpe/          Gemma's tokenizer.json pipeline (transformers'
                            GemmaTokenizer, EmbeddingGemma's <bos> ... <eos>)
                            over a reduced vocabulary of the real Llama 2
                            SentencePiece BPE (../llama-spm): byte fallback,
                            no prefix space (gemma_style says exactly how).
  modernbert-style-bpe/     GPT-2's real byte-level BPE (../gpt2-bpe) cut to
                            ids < 20000 and the merges making them (merge rank
                            r makes id 256 + r), under ModernBERT's
                            tokenizer.json pipeline: NFC normalizer,
                            ByteLevel(add_prefix_space false) pre-tokenizer,
                            BPE without unk, TemplateProcessing [CLS] $A
                            [SEP]; then <|endoftext|>, [UNK], [CLS], [SEP],
                            [PAD], [MASK] (added, special; [MASK] lstrip).

Run with the pyenv python3 (tokenizers, transformers from PyPI):

    python3 scripts/make_style_tokenizers.py
"""
import hashlib
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOK = os.path.join(ROOT, "tests", "fixtures", "tokenizers")


def load(rel):
    with open(os.path.join(TOK, rel), encoding="utf-8") as f:
        return json.load(f)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def special(id_, content, lstrip=False, normalized=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": False, "normalized": normalized, "special": True}


def roberta_style(out):
    g = load("gpt2-bpe/tokenizer.json")
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for tok, i in sorted(g["model"]["vocab"].items(), key=lambda kv: kv[1]):
        if tok != "<|endoftext|>":
            vocab[tok] = len(vocab)
    mask = len(vocab)
    vocab["<mask>"] = mask
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        # roberta-base: the four specials normalized (there is no normalizer),
        # <mask> lstrip
        "added_tokens": [special(0, "<s>", normalized=True), special(1, "<pad>", normalized=True),
                         special(2, "</s>", normalized=True), special(3, "<unk>", normalized=True),
                         special(mask, "<mask>", lstrip=True)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
                  "merges": g["model"]["merges"]},
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "RobertaTokenizer", "model_max_length": 512,
                   "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                   "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
                   "mask_token": "<mask>", "add_prefix_space": False}, f, indent=2)
        f.write("\n")
    return mask + 1


def camembert_style(out):
    from transformers import CamembertTokenizer

    t5 = load("t5-unigram/tokenizer.json")
    pieces = [(p, s) for p, s in t5["model"]["vocab"]
              if p not in ("<pad>", "</s>", "<unk>") and not p.startswith("<extra_id_")]
    vocab = [("<s>NOTUSED", 0.0), ("<pad>", 0.0), ("</s>NOTUSED", 0.0), ("<unk>", 0.0),
             ("<unk>NOTUSED", -100.0), ("<s>", 0.0), ("</s>", 0.0)] + pieces + [("<mask>", 0.0)]
    charsmap = t5["normalizer"]["precompiled_charsmap"]
    import base64
    tk = CamembertTokenizer(vocab=vocab, _spm_precompiled_charsmap=base64.b64decode(charsmap),
                            model_max_length=512)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tk.save_pretrained(tmp)
    os.makedirs(out, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(tmp, name)):
            shutil.copy(os.path.join(tmp, name), os.path.join(out, name))
    shutil.rmtree(tmp)
    return len(vocab)


def gemma_style(out):
    """Gemma's tokenizer.json pipeline as transformers' GemmaTokenizer /
    GemmaConverter build it (Replace(" ", "▁") normalizer, Split(" ",
    merged_with_previous) pre-tokenizer, BPE with byte_fallback and fuse_unk,
    <pad>=0 <eos>=1 <bos>=2 <unk>=3 <mask>=4) with EmbeddingGemma's
    post-processor <bos> $A <eos>, over a reduced vocabulary: the 256 byte
    tokens, then the first 1500 multi-character pieces of the real Llama 2
    SentencePiece BPE vocabulary (../llama-spm) and all its single-character
    pieces, with the merges among them (a merge is kept when both parts and
    the result are)."""
    llama = load("llama-spm/tokenizer.json")
    keep_pieces = 1500
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    vocab = {t: i for i, t in enumerate(specials)}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    pieces = sorted(((i, t) for t, i in llama["model"]["vocab"].items() if i >= 259),
                    key=lambda p: p[0])
    singles = [t for _, t in pieces if len(t) == 1]  # BPE's alphabet (Llama's last ids)
    for t in [t for _, t in pieces if len(t) > 1][:keep_pieces] + singles:
        vocab[t] = len(vocab)
    merges = []
    for m in llama["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append([a, b])
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(specials)]
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": {"type": "Split", "pattern": {"String": " "},
                          "behavior": "MergedWithPrevious", "invert": False},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "<eos>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<eos>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "<eos>", "type_id": 1}}],
            "special_tokens": {
                "<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]},
                "<eos>": {"id": "<eos>", "ids": [1], "tokens": ["<eos>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    for name, obj in (("tokenizer_config.json", {
            "tokenizer_class": "GemmaTokenizer", "add_bos_token": True, "add_eos_token": True,
            "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
            "unk_token": "<unk>", "mask_token": "<mask>", "padding_side": "right",
            "model_max_length": 2048}),
            ("special_tokens_map.json", {
            "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
            "unk_token": "<unk>", "mask_token": "<mask>"})):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return len(vocab)


MODERNBERT_KEEP = 20000
MODERNBERT_SPECIALS = ["<|endoftext|>", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def modernbert_style(out):
    g = load("gpt2-bpe/tokenizer.json")
    keep = MODERNBERT_KEEP
    vocab = {t: i for t, i in g["model"]["vocab"].items() if i < keep}
    merges = g["model"]["merges"][: keep - 256]
    for m in merges:  # GPT-2: merge rank r makes id 256 + r
        a, b = m.split(" ")
        assert a in vocab and b in vocab and a + b in vocab, m
    ids = {content: keep + k for k, content in enumerate(MODERNBERT_SPECIALS)}
    vocab.update(ids)
    cls_sep = [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
               {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [special(ids[c], c, lstrip=c == "[MASK]") for c in MODERNBERT_SPECIALS],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing", "single": cls_sep,
            "pair": cls_sep + [{"Sequence": {"id": "B", "type_id": 0}},
                               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]}
                               for t in ("[CLS]", "[SEP]")}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])), "merges": merges},
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    for name, obj in (("tokenizer_config.json", {
            "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": True,
            "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 8192,
            "bos_token": "[CLS]", "eos_token": "[SEP]", "cls_token": "[CLS]",
            "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": "[MASK]",
            "unk_token": "[UNK]"}), ("special_tokens_map.json", {
            "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
            "mask_token": "[MASK]", "unk_token": "[UNK]"})):
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    return keep + len(MODERNBERT_SPECIALS)


def expected(folder):
    import tokenizers

    t = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    t.no_padding()
    t.no_truncation()
    lines = []
    with open(os.path.join(TOK, "texts.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line) for line in f]
    for tx in texts:
        e = t.encode(tx["text"], add_special_tokens=True)
        n = t.encode(tx["text"], add_special_tokens=False)
        lines.append(json.dumps({"id": tx["id"], "ids": e.ids, "ids_no_special": n.ids,
                                 "tokens": e.tokens}, ensure_ascii=False, separators=(",", ":")))
    with open(os.path.join(folder, "expected.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return tokenizers.__version__


def main():
    for name, make in (("roberta-style-bpe", roberta_style),
                       ("camembert-style-unigram", camembert_style),
                       ("gemma-style-bpe", gemma_style),
                       ("modernbert-style-bpe", modernbert_style)):
        out = os.path.join(TOK, name)
        n = make(out)
        ver = expected(out)
        print("make_style_tokenizers: %s: %d ids, tokenizer.json sha256 %s, expected.jsonl by "
              "tokenizers %s" % (name, n, sha256(os.path.join(out, "tokenizer.json"))[:16], ver),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
