#!/usr/bin/python3
"""Write a full-size random-weight Hugging Face model folder for benchmarks.

    /usr/bin/python3 bench/make_model.py CONFIG_NAME OUT_DIR [--dtype f32|bf16|f16] [--seed N]

CONFIG_NAME is one of: e5-small-v2, e5-base-v2, qwen3-embedding-0.6b,
embeddinggemma-300m — the real config.json of intfloat/e5-small-v2,
intfloat/e5-base-v2, Qwen/Qwen3-Embedding-0.6B and google/embeddinggemma-300m
(its vocabulary cut to 32000, the Mistral tokenizer copied: no Gemma
tokenizer is available; with its Dense 768->3072->768 modules) —
modernbert-base (ModernBERT-base's architecture keys, the shape of
gte-modernbert-base; CLS pooling, the modernbert-style-bpe stand-in
tokenizer) — or the path of any config.json of a family libemb
runs (model_type bert, llama, mistral, qwen2, qwen3; e.g. a downloaded
checkpoint's, to benchmark its shape without its weights). The folder holds
everything `emb convert` reads:

  config.json                        the real architecture config
  model.safetensors                  random weights, written by hand (8-byte
                                     little-endian header length, JSON header,
                                     data): linear/embedding weights and biases
                                     ~ N(0, 0.02), norm weights ~ 1 + N(0, 0.02),
                                     norm biases ~ N(0, 0.02); BF16 by rounding
                                     f32 to nearest even, F16 by numpy
  tokenizer files                    copied from the project's fixtures:
                                     tests/fixtures/tokenizers/bert-uncased for
                                     e5 / bert (the real 30522-entry uncased
                                     vocab), tests/fixtures/tokenizers/qwen2-bpe
                                     for Qwen3 / qwen2 (151665 entries <
                                     vocab_size 151669, as in the real model),
                                     its post-processor set to append
                                     <|endoftext|> as Qwen3-Embedding's
                                     tokenizer.json does; mistral-spm (32000,
                                     <s> prepended) for llama / mistral
  modules.json, 1_Pooling/config.json, config_sentence_transformers.json,
  sentence_bert_config.json          sentence-transformers: mean pooling and
                                     "query: "/"passage: " prompts for e5 /
                                     bert, last-token pooling and the
                                     instruction prompt for decoders; L2
                                     normalization

A config's vocab_size must be at least the copied tokenizer's vocabulary.
Decoders are written as the bare model (Qwen3Model / MistralModel state
dict, no "model." prefix and no lm_head), as embedding checkpoints ship.

Same seed, same bytes. Nothing written here belongs in git: write under
build/ (bench/run.sh uses build/bench/) or /tmp. Needs numpy (Debian's
/usr/bin/python3).
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZERS = os.path.join(ROOT, "tests", "fixtures", "tokenizers")


def bert_config(hidden, heads, intermediate):
    return {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 512,
        "model_type": "bert",
        "num_attention_heads": heads,
        "num_hidden_layers": 12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": "4.29.0.dev0",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": 30522,
    }


QWEN3_0_6B = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151643,
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "model_type": "qwen3",
    "num_attention_heads": 16,
    "num_hidden_layers": 28,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.51.3",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151669,
}

# google/embeddinggemma-300m's config.json (transformers 4.x form), its vocabulary
# cut to the bench tokenizer's 32000 (mistral-spm: the real Gemma tokenizer is not
# available; a pass's speed does not depend on the vocabulary's size)
EMBEDDINGGEMMA_300M = {
    "architectures": ["Gemma3TextModel"],
    "attention_bias": False,
    "attn_logit_softcapping": None,
    "bos_token_id": 2,
    "eos_token_id": 1,
    "final_logit_softcapping": None,
    "head_dim": 256,
    "hidden_activation": "gelu_pytorch_tanh",
    "hidden_size": 768,
    "intermediate_size": 1152,
    "layer_types": ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention"
                    for i in range(24)],
    "max_position_embeddings": 2048,
    "model_type": "gemma3_text",
    "num_attention_heads": 3,
    "num_hidden_layers": 24,
    "num_key_value_heads": 1,
    "pad_token_id": 0,
    "query_pre_attn_scalar": 256,
    "rms_norm_eps": 1e-06,
    "rope_local_base_freq": 10000.0,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "sliding_window": 512,
    "use_bidirectional_attention": True,
    "vocab_size": 32000,
}

E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
GEMMA_PROMPTS = {"query": "task: search result | query: ", "document": "title: none | text: "}
QWEN3_PROMPTS = {
    "query": "Instruct: Given a web search query, retrieve relevant passages that answer "
             "the query\nQuery:",
    "document": "",
}

# answerdotai/ModernBERT-base's architecture (the shape of gte-modernbert-base and
# modernbert-embed-base): ModernBertConfig's keys as its config.json spells them
MODERNBERT_BASE = {
    "architectures": ["ModernBertModel"],
    "model_type": "modernbert",
    "vocab_size": 50368,
    "hidden_size": 768,
    "intermediate_size": 1152,
    "num_hidden_layers": 22,
    "num_attention_heads": 12,
    "hidden_activation": "gelu",
    "max_position_embeddings": 8192,
    "norm_eps": 1e-05,
    "norm_bias": False,
    "attention_bias": False,
    "mlp_bias": False,
    "global_attn_every_n_layers": 3,
    "local_attention": 128,
    "global_rope_theta": 160000.0,
    "local_rope_theta": 10000.0,
    "pad_token_id": 50283,
    "bos_token_id": 50281,
    "eos_token_id": 50282,
    "cls_token_id": 50281,
    "sep_token_id": 50282,
}

CONFIGS = {
    "e5-small-v2": dict(config=bert_config(384, 12, 1536), family="bert", pooling="mean",
                        prompts=E5_PROMPTS, max_seq_length=512, tokenizer="bert-uncased"),
    "e5-base-v2": dict(config=bert_config(768, 12, 3072), family="bert", pooling="mean",
                       prompts=E5_PROMPTS, max_seq_length=512, tokenizer="bert-uncased"),
    "qwen3-embedding-0.6b": dict(config=QWEN3_0_6B, family="qwen3", pooling="lasttoken",
                                 prompts=QWEN3_PROMPTS, max_seq_length=32768,
                                 tokenizer="qwen2-bpe"),
    "embeddinggemma-300m": dict(config=EMBEDDINGGEMMA_300M, family="gemma3_text",
                                pooling="mean", prompts=GEMMA_PROMPTS, max_seq_length=2048,
                                tokenizer="mistral-spm", dense=[(768, 3072), (3072, 768)]),
    "modernbert-base": dict(config=MODERNBERT_BASE, family="modernbert", pooling="cls",
                            prompts={}, max_seq_length=8192, tokenizer="modernbert-style-bpe"),
}


def tensor_list(cfg, family):
    """(name, shape, kind) in state-dict order; kind: 'w' weight/bias ~ N(0, .02),
    'norm' ~ 1 + N(0, .02), 'normb' LayerNorm bias ~ N(0, .02); Gemma's norm weights
    are offsets from 1 (its RMSNorm scales by 1 + w), so 'w'."""
    h, i, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    t = []
    if family == "bert":
        t += [("embeddings.word_embeddings.weight", (cfg["vocab_size"], h), "w"),
              ("embeddings.position_embeddings.weight", (cfg["max_position_embeddings"], h), "w"),
              ("embeddings.token_type_embeddings.weight", (cfg["type_vocab_size"], h), "w"),
              ("embeddings.LayerNorm.weight", (h,), "norm"),
              ("embeddings.LayerNorm.bias", (h,), "normb")]
        for l in range(L):
            p = "encoder.layer.%d." % l
            for proj in ("query", "key", "value"):
                t += [(p + "attention.self.%s.weight" % proj, (h, h), "w"),
                      (p + "attention.self.%s.bias" % proj, (h,), "w")]
            t += [(p + "attention.output.dense.weight", (h, h), "w"),
                  (p + "attention.output.dense.bias", (h,), "w"),
                  (p + "attention.output.LayerNorm.weight", (h,), "norm"),
                  (p + "attention.output.LayerNorm.bias", (h,), "normb"),
                  (p + "intermediate.dense.weight", (i, h), "w"),
                  (p + "intermediate.dense.bias", (i,), "w"),
                  (p + "output.dense.weight", (h, i), "w"),
                  (p + "output.dense.bias", (h,), "w"),
                  (p + "output.LayerNorm.weight", (h,), "norm"),
                  (p + "output.LayerNorm.bias", (h,), "normb")]
        t += [("pooler.dense.weight", (h, h), "w"), ("pooler.dense.bias", (h,), "w")]
    elif family == "modernbert":  # ModernBertModel: no biases, layer 0 without attn_norm
        t += [("embeddings.tok_embeddings.weight", (cfg["vocab_size"], h), "w"),
              ("embeddings.norm.weight", (h,), "norm")]
        for l in range(L):
            p = "layers.%d." % l
            if l > 0:
                t.append((p + "attn_norm.weight", (h,), "norm"))
            t += [(p + "attn.Wqkv.weight", (3 * h, h), "w"),
                  (p + "attn.Wo.weight", (h, h), "w"),
                  (p + "mlp_norm.weight", (h,), "norm"),
                  (p + "mlp.Wi.weight", (2 * i, h), "w"),
                  (p + "mlp.Wo.weight", (h, i), "w")]
        t.append(("final_norm.weight", (h,), "norm"))
    else:  # decoders, as Qwen3Model / MistralModel state dicts (no "model." prefix)
        nh = cfg["num_attention_heads"]
        nkv = cfg.get("num_key_value_heads") or nh
        hd = cfg.get("head_dim") or h // nh
        t.append(("embed_tokens.weight", (cfg["vocab_size"], h), "w"))
        for l in range(L):
            p = "layers.%d." % l
            t += [(p + "input_layernorm.weight", (h,), "norm"),
                  (p + "self_attn.q_proj.weight", (nh * hd, h), "w"),
                  (p + "self_attn.k_proj.weight", (nkv * hd, h), "w"),
                  (p + "self_attn.v_proj.weight", (nkv * hd, h), "w"),
                  (p + "self_attn.o_proj.weight", (h, nh * hd), "w")]
            if family == "qwen2":  # q, k, v biases
                t += [(p + "self_attn.q_proj.bias", (nh * hd,), "w"),
                      (p + "self_attn.k_proj.bias", (nkv * hd,), "w"),
                      (p + "self_attn.v_proj.bias", (nkv * hd,), "w")]
            gemma = family == "gemma3_text"
            norm = "w" if gemma else "norm"
            if family in ("qwen3", "gemma3_text"):  # per-head RMSNorm of q and k
                t += [(p + "self_attn.q_norm.weight", (hd,), norm),
                      (p + "self_attn.k_norm.weight", (hd,), norm)]
            t.append((p + "post_attention_layernorm.weight", (h,), norm))
            if gemma:  # the norms before and after the MLP
                t += [(p + "pre_feedforward_layernorm.weight", (h,), norm),
                      (p + "post_feedforward_layernorm.weight", (h,), norm)]
            t += [(p + "mlp.gate_proj.weight", (i, h), "w"),
                  (p + "mlp.up_proj.weight", (i, h), "w"),
                  (p + "mlp.down_proj.weight", (h, i), "w")]
        t.append(("norm.weight", (h,), "w" if family == "gemma3_text" else "norm"))
    return t


def spec_from_config(path):
    """A CONFIGS-like entry for an arbitrary config.json."""
    with open(path) as f:
        cfg = json.load(f)
    mt = cfg.get("model_type")
    if mt == "bert":
        return dict(config=cfg, family="bert", pooling="mean", prompts=E5_PROMPTS,
                    max_seq_length=min(512, cfg.get("max_position_embeddings", 512)),
                    tokenizer="bert-uncased")
    if mt in ("qwen2", "qwen3", "llama", "mistral"):
        return dict(config=cfg, family=mt if mt in ("qwen2", "qwen3") else "llama",
                    pooling="lasttoken", prompts=QWEN3_PROMPTS,
                    max_seq_length=cfg.get("max_position_embeddings", 32768),
                    tokenizer="qwen2-bpe" if mt.startswith("qwen") else "mistral-spm")
    sys.exit("make_model.py: %s: model_type %r not supported (bert, llama, mistral, qwen2, "
             "qwen3)" % (path, mt))


def to_dtype(x, dtype):
    """float32 array -> bytes of the safetensors dtype."""
    if dtype == "f32":
        return x.astype("<f4").tobytes()
    if dtype == "f16":
        return x.astype("<f2").tobytes()
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even
    return u.astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype, seed):
    st_dtype = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[dtype]
    size = {"f32": 4, "f16": 2, "bf16": 2}[dtype]
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in tensors:
        n = int(np.prod(shape)) * size
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-(8 + len(hj)) % 8)  # data starts 8-byte aligned
    rng = np.random.default_rng(seed)
    chunk = 1 << 24  # elements per random draw, bounding memory
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for name, shape, kind in tensors:
            left = int(np.prod(shape))
            while left:
                n = min(left, chunk)
                x = rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)
                if kind == "norm":
                    x += np.float32(1.0)
                f.write(to_dtype(x, dtype))
                left -= n
    os.replace(path + ".tmp", path)
    return off


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def copy_tokenizer(spec, out):
    src = os.path.join(TOKENIZERS, spec["tokenizer"])
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                 "vocab.txt"):
        if os.path.exists(os.path.join(src, name)):
            shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    if spec["tokenizer"] == "qwen2-bpe":
        # Qwen3-Embedding's tokenizer.json appends <|endoftext|> after the text
        path = os.path.join(out, "tokenizer.json")
        with open(path, encoding="utf-8") as f:
            tok = json.load(f)
        eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|endoftext|>")
        special = {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}
        tok["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, special],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, special,
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}],
            "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [eos],
                                                 "tokens": ["<|endoftext|>"]}},
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)


def write_sentence_transformers(spec, out):
    cfg = spec["config"]
    dense = spec.get("dense", [])  # (in, out) of Dense modules after the pooling
    kinds = ["Pooling"] + ["Dense"] * len(dense) + ["Normalize"]
    write_json(os.path.join(out, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}] +
        [{"idx": k, "name": str(k), "path": "%d_%s" % (k, kind),
          "type": "sentence_transformers.models." + kind} for k, kind in enumerate(kinds, 1)])
    for k, kind in enumerate(kinds, 1):
        os.makedirs(os.path.join(out, "%d_%s" % (k, kind)), exist_ok=True)
    for k, (d_in, d_out) in enumerate(dense, 2):  # no bias, identity (EmbeddingGemma's)
        folder = os.path.join(out, "%d_Dense" % k)
        write_json(os.path.join(folder, "config.json"), {
            "in_features": d_in, "out_features": d_out, "bias": False,
            "activation_function": "torch.nn.modules.linear.Identity"})
        write_safetensors(os.path.join(folder, "model.safetensors"),
                          [("linear.weight", (d_out, d_in), "w")], "f32", k)
    pooling = spec["pooling"]
    write_json(os.path.join(out, "1_Pooling", "config.json"), {
        "word_embedding_dimension": cfg["hidden_size"],
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": pooling == "lasttoken",
        "include_prompt": True})
    write_json(os.path.join(out, "config_sentence_transformers.json"), {
        "__version__": {"sentence_transformers": "3.4.1", "transformers": "4.51.3",
                        "pytorch": "2.6.0"},
        "prompts": spec["prompts"],
        "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    write_json(os.path.join(out, "sentence_bert_config.json"),
               {"max_seq_length": spec["max_seq_length"], "do_lower_case": False})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config", help="one of %s, or a config.json path" % ", ".join(sorted(CONFIGS)))
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", choices=("f32", "bf16", "f16"), default="f32")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.config in CONFIGS:
        spec = CONFIGS[a.config]
    elif os.path.isfile(a.config):
        spec = spec_from_config(a.config)
    else:
        ap.error("unknown config %r: use one of %s or a config.json path" %
                 (a.config, ", ".join(sorted(CONFIGS))))
    os.makedirs(a.out_dir, exist_ok=True)
    cfg = dict(spec["config"])
    cfg["torch_dtype"] = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[a.dtype]
    write_json(os.path.join(a.out_dir, "config.json"), cfg)
    copy_tokenizer(spec, a.out_dir)
    write_sentence_transformers(spec, a.out_dir)
    tensors = tensor_list(cfg, spec["family"])
    nbytes = write_safetensors(os.path.join(a.out_dir, "model.safetensors"), tensors, a.dtype,
                               a.seed)
    n = sum(int(np.prod(s)) for _, s, _ in tensors)
    print("%s: %s, %d tensors, %.1fM parameters, %.0f MB of %s weights" %
          (a.out_dir, a.config, len(tensors), n / 1e6, nbytes / 1048576, a.dtype))
    return 0


if __name__ == "__main__":
    sys.exit(main())
