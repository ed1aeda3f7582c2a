/* Tests for src/convert/hf_config.c (cv_read_config): every model fixture
 * reads as tests/fixtures/models/README.md's table says, and broken or
 * unsupported folders made in temp dirs are refused with the right status
 * and a message naming the file and field. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "convert/convert.h"
#include "runtime/runtime.h"

#define FIX "tests/fixtures/models/"
#define GPT2 "tests/fixtures/tokenizers/gpt2-bpe"

#define QWEN_QUERY                                                                                 \
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"

typedef struct expected {
    const char *dir, *arch;
    int64_t hidden, layers, heads, kv_heads, head_dim, intermediate, max_position, type_vocab,
        vocab, pad;
    double eps, theta;
    const char *act;
    int tie;
    mdl_pooling pooling;
    int normalize;
    const char *query, *passage;
    int64_t max_tokens;
    int no_include_prompt; /* 1_Pooling include_prompt false */
    int n_pool_extra, n_dense;
} expected;

static const expected fixtures[] = {
    {"bert-e5", "bert", 32, 2, 4, 4, 8, 64, 512, 2, 5000, 0, 1e-12, 10000.0, "gelu", 1,
     MDL_POOL_MEAN, 1, "query: ", "passage: ", 64, 0, 0, 0},
    {"bert-e5-f16", "bert", 32, 2, 4, 4, 8, 64, 512, 2, 5000, 0, 1e-12, 10000.0, "gelu", 1,
     MDL_POOL_MEAN, 1, "query: ", "passage: ", 64, 0, 0, 0},
    {"bert-dense", "bert", 32, 2, 4, 4, 8, 64, 512, 2, 5000, 0, 1e-12, 10000.0, "gelu", 1,
     MDL_POOL_MAX, 1, "query: ", "passage: ", 64, 0, 0, 2},
    {"bert-noprompt", "bert", 32, 2, 4, 4, 8, 64, 512, 2, 5000, 0, 1e-12, 10000.0, "gelu", 1,
     MDL_POOL_CLS, 0, "query: ", "passage: ", 64, 1, 3, 0},
    {"bge-cls", "bert", 48, 2, 3, 3, 16, 96, 512, 2, 5000, 0, 1e-12, 10000.0, "gelu", 1,
     MDL_POOL_CLS, 1, "Represent this sentence for searching relevant passages: ", NULL, 512, 0, 0, 0},
    {"mistral-e5", "mistral", 64, 2, 4, 2, 16, 128, 512, 0, 3299, -1, 1e-5, 10000.0, "silu", 0,
     MDL_POOL_LASTTOKEN, 1, QWEN_QUERY " ", NULL, 128, 0, 0, 0},
    /* plain LM folder: no sentence-transformers files; min(32768, 512) */
    {"mistral-lm", "mistral", 64, 2, 4, 2, 16, 128, 512, 0, 2346, -1, 1e-5, 10000.0, "silu", 0,
     MDL_POOL_LASTTOKEN, 0, NULL, NULL, 512, 0, 0, 0},
    {"qwen2-gte", "qwen2", 64, 2, 4, 2, 16, 128, 512, 0, 3022, -1, 1e-6, 1e6, "silu", 0,
     MDL_POOL_LASTTOKEN, 1, QWEN_QUERY " ", NULL, 256, 0, 0, 0},
    {"qwen3-emb", "qwen3", 64, 2, 4, 2, 32, 128, 512, 0, 3022, -1, 1e-6, 1e6, "silu", 1,
     MDL_POOL_LASTTOKEN, 1, QWEN_QUERY, "", 200, 0, 0, 0},
    {"qwen3-emb-bf16", "qwen3", 64, 2, 4, 2, 32, 128, 512, 0, 3022, -1, 1e-6, 1e6, "silu", 1,
     MDL_POOL_LASTTOKEN, 1, QWEN_QUERY, "", 200, 0, 0, 0},
    {"xlmr-me5", "xlm-roberta", 32, 2, 4, 4, 8, 64, 514, 1, 4001, 1, 1e-12, 10000.0, "gelu", 1,
     MDL_POOL_MEAN, 1, "query: ", "passage: ", 96, 0, 0, 0},
    /* no token types; max_seq_length 384 (below 514 - 2) */
    {"mpnet-st", "mpnet", 32, 2, 4, 4, 8, 64, 514, 0, 5001, 1, 1e-5, 10000.0, "gelu", 1,
     MDL_POOL_MEAN, 1, NULL, NULL, 384, 0, 0, 0},
    /* RobertaModel / CamembertModel: one token type, positions from 2 */
    {"roberta-st", "roberta", 32, 2, 4, 4, 8, 64, 514, 1, 5001, 1, 1e-5, 10000.0, "gelu", 1,
     MDL_POOL_MEAN, 1, NULL, NULL, 512, 0, 0, 0},
    {"camembert-st", "camembert", 32, 2, 4, 4, 8, 64, 514, 1, 2501, 1, 1e-5, 10000.0, "gelu", 1,
     MDL_POOL_MEAN, 0, NULL, NULL, 128, 0, 0, 0},
    /* DistilBertConfig's keys (dim, n_layers, ...); eps fixed at 1e-12 */
    {"distilbert-st", "distilbert", 32, 2, 4, 4, 8, 64, 512, 0, 5000, 0, 1e-12, 10000.0, "gelu",
     1, MDL_POOL_MEAN, 1, NULL, NULL, 512, 0, 0, 0},
    /* transformers' NomicBertConfig spelling; search_query / search_document
     * prompts; max_seq_length 8192 capped at 2048 positions */
    {"nomic-st", "nomic_bert", 32, 2, 4, 4, 8, 64, 2048, 2, 3008, 0, 1e-12, 1000.0, "silu", 1,
     MDL_POOL_MEAN, 1, "search_query: ", "search_document: ", 2048, 0, 0, 0},
    /* Alibaba's NewConfig spelling; CLS pooling; max_seq_length 8192 */
    {"gte-new", "new", 32, 2, 4, 4, 8, 64, 8192, 1, 1501, 1, 1e-12, 160000.0, "gelu", 1,
     MDL_POOL_CLS, 1, NULL, NULL, 8192, 0, 0, 0},
    /* no token types (type_vocab_size 0); rope_scaling ntk (test_gte.c checks the factor) */
    {"gte-en", "new", 32, 2, 4, 4, 8, 64, 8192, 0, 3000, 0, 1e-12, 500000.0, "gelu", 1,
     MDL_POOL_CLS, 1, NULL, NULL, 8192, 0, 0, 0},
    /* RoPE scaling / sliding window (test_decoder_scaled.c): decoders keep
     * max_seq_length 128 even past max_position_embeddings */
    {"llama-rope-linear", "llama", 32, 2, 4, 2, 8, 64, 64, 0, 3299, -1, 1e-5, 10000.0, "silu", 0,
     MDL_POOL_LASTTOKEN, 1, NULL, NULL, 128, 0, 0, 0},
    {"llama-rope-llama3", "llama", 32, 2, 4, 2, 8, 64, 256, 0, 3299, -1, 1e-5, 10000.0, "silu", 0,
     MDL_POOL_LASTTOKEN, 1, NULL, NULL, 128, 0, 0, 0},
    {"mistral-window-dynamic", "mistral", 32, 2, 4, 2, 8, 64, 32, 0, 3299, -1, 1e-5, 10000.0,
     "silu", 0, MDL_POOL_LASTTOKEN, 1, NULL, NULL, 128, 0, 0, 0},
    {"qwen2-window-yarn", "qwen2", 32, 2, 4, 2, 8, 64, 128, 0, 3022, -1, 1e-5, 100.0, "silu", 0,
     MDL_POOL_LASTTOKEN, 1, NULL, NULL, 128, 0, 0, 0},
    {"qwen3-layer-types", "qwen3", 32, 2, 4, 2, 8, 64, 512, 0, 3022, -1, 1e-5, 1e6, "silu", 0,
     MDL_POOL_LASTTOKEN, 1, NULL, NULL, 128, 0, 0, 0},
    /* EmbeddingGemma reduced: its task prompts, Dense 32->128->32; the window
     * is run, not a token cap (max_seq_length 2048) */
    {"gemma-st", "gemma3_text", 32, 3, 4, 2, 16, 48, 2048, 0, 3890, 0, 1e-6, 1e6,
     "gelu_pytorch_tanh", 1, MDL_POOL_MEAN, 1, "task: search result | query: ",
     "title: none | text: ", 2048, 0, 0, 2},
    /* ModernBERT: norm_eps, hidden_activation, rope_parameters' global theta;
     * CLS pooling; max_seq_length 96 (below 128 positions) */
    {"modernbert-st", "modernbert", 32, 5, 4, 4, 8, 48, 128, 0, 3006, 3004, 1e-5, 160000.0,
     "gelu", 1, MDL_POOL_CLS, 1, NULL, NULL, 96, 0, 0, 0},
};

static void assert_str_or_null(const char *label, const char *got, const char *want)
{
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0)) {
        print_error("%s: got %s%s%s, expected %s%s%s\n", label, got ? "\"" : "",
                    got ? got : "NULL", got ? "\"" : "", want ? "\"" : "", want ? want : "NULL",
                    want ? "\"" : "");
        fail();
    }
}

static void test_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const expected *e = &fixtures[i];
        char dir[256];
        snprintf(dir, sizeof dir, FIX "%s", e->dir);
        mdl_config c;
        fmt_policy p;
        emb_status st = cv_read_config(dir, &c, &p);
        if (st != EMB_OK) {
            print_error("%s: %s\n", dir, rt_last_error());
            fail();
        }
        assert_string_equal(c.arch, e->arch);
        assert_int_equal(c.hidden, e->hidden);
        assert_int_equal(c.layers, e->layers);
        assert_int_equal(c.heads, e->heads);
        assert_int_equal(c.kv_heads, e->kv_heads);
        assert_int_equal(c.head_dim, e->head_dim);
        assert_int_equal(c.intermediate, e->intermediate);
        assert_int_equal(c.max_position, e->max_position);
        assert_int_equal(c.type_vocab_size, e->type_vocab);
        assert_int_equal(c.vocab_size, e->vocab);
        assert_int_equal(c.pad_token_id, e->pad);
        assert_true(c.norm_eps == e->eps);
        assert_true(c.rope_theta == e->theta);
        assert_string_equal(c.act, e->act);
        assert_int_equal(c.tie_embeddings, e->tie);
        assert_int_equal(c.pooling, e->pooling);
        assert_int_equal(c.normalize, e->normalize);
        assert_str_or_null("prompt_query", p.prompt_query, e->query);
        assert_str_or_null("prompt_passage", p.prompt_passage, e->passage);
        assert_null(p.prompt_default);
        assert_null(p.template_);
        assert_int_equal(p.strip, 0); /* as sentence-transformers 5.4 and later */
        assert_int_equal(p.include_prompt, !e->no_include_prompt);
        assert_int_equal(c.n_pool_extra, e->n_pool_extra);
        assert_int_equal(c.n_dense, e->n_dense);
        assert_int_equal(p.lowercase, 0);
        assert_int_equal(p.max_tokens, e->max_tokens);
        fmt_policy_free(&p);
        assert_null(p.prompt_query);
    }
}

/* Every fixture folder is in the table above (a new one must be added). */
static void test_fixture_table_complete(void **state)
{
    (void)state;
    DIR *d = opendir(FIX);
    assert_non_null(d);
    struct dirent *e;
    size_t seen = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char cfg[512];
        snprintf(cfg, sizeof cfg, FIX "%s/config.json", e->d_name);
        struct stat sb;
        if (stat(cfg, &sb) != 0)
            continue;
        size_t i = 0;
        while (i < sizeof fixtures / sizeof fixtures[0] && strcmp(fixtures[i].dir, e->d_name) != 0)
            i++;
        if (i == sizeof fixtures / sizeof fixtures[0]) {
            print_error("fixture %s is not in test_hf_config.c's table\n", e->d_name);
            fail();
        }
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, sizeof fixtures / sizeof fixtures[0]);
}

/* ------------------------------------------------------- temp-dir folders */

static char *path2(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}


static void remove_file(const char *dir, const char *rel)
{
    char *p = path2(dir, rel);
    assert_int_equal(remove(p), 0);
    free(p);
}

static const char *const st_files[] = {"config.json",
                                       "modules.json",
                                       "1_Pooling/config.json",
                                       "sentence_bert_config.json",
                                       "config_sentence_transformers.json",
                                       "tokenizer_config.json"};

/* Copy a fixture's JSON files into a fresh temp dir. */
static char *copy_fixture(const char *name)
{
    char *dir = tu_tmpdir();
    char *pool = path2(dir, "1_Pooling");
    assert_int_equal(mkdir(pool, 0755), 0);
    free(pool);
    for (size_t i = 0; i < sizeof st_files / sizeof st_files[0]; i++) {
        char src[512];
        snprintf(src, sizeof src, FIX "%s/%s", name, st_files[i]);
        size_t len;
        char *text = tu_read_file(src, &len);
        if (!text)
            continue;
        tu_write_text(dir, st_files[i], text);
        free(text);
    }
    return dir;
}

/* Set (value != NULL, reference stolen) or delete a top-level key. */

static void read_ok(const char *dir, mdl_config *c, fmt_policy *p)
{
    emb_status st = cv_read_config(dir, c, p);
    if (st != EMB_OK) {
        print_error("%s: unexpected failure %d: %s\n", dir, (int)st, rt_last_error());
        fail();
    }
}

/* Expect `status` and every NULL-terminated substring in the message. */
static void read_fails(const char *label, const char *dir, emb_status status, ...)
{
    mdl_config c;
    fmt_policy p;
    memset(&p, 0, sizeof p);
    emb_status st = cv_read_config(dir, &c, &p);
    const char *msg = rt_last_error();
    int ok = st == status;
    va_list ap;
    va_start(ap, status);
    const char *want;
    const char *missing = NULL;
    while ((want = va_arg(ap, const char *)) != NULL)
        if (!strstr(msg, want) && !missing)
            missing = want;
    va_end(ap);
    if (!ok || missing) {
        print_error("%s: status %d (expected %d), message \"%s\"%s%s\n", label, (int)st,
                    (int)status, msg, missing ? " lacks " : "", missing ? missing : "");
        fail();
    }
    /* nothing to free after a failure */
    assert_null(p.prompt_query);
    assert_null(p.prompt_passage);
    assert_null(p.prompt_default);
}

static void test_missing_and_invalid(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    read_fails("empty folder", dir, EMB_ERR_IO, "config.json", NULL);
    tu_write_text(dir, "config.json", "{\n  \"model_type\": \"bert\",\n  \"hidden_size\": 32,,\n}\n");
    read_fails("invalid JSON", dir, EMB_ERR_FORMAT, "config.json", "invalid JSON", "line 3",
               "column", NULL);
    tu_write_text(dir, "config.json", "");
    read_fails("empty config", dir, EMB_ERR_FORMAT, "config.json", "line 1", NULL);
    tu_write_text(dir, "config.json", "[1, 2]");
    read_fails("config array", dir, EMB_ERR_FORMAT, "config.json", "not a JSON object", NULL);
    tu_write_text(dir, "config.json", "{\"hidden_size\": 32}");
    read_fails("no model_type", dir, EMB_ERR_FORMAT, "model_type", NULL);
    tu_write_text(dir, "config.json", "{\"model_type\": \"gpt2\"}");
    read_fails("unknown model_type", dir, EMB_ERR_UNSUPPORTED, "model_type 'gpt2' is not supported",
               "supported: bert, xlm-roberta, roberta, camembert, mpnet, distilbert, nomic_bert, "
               "new, gte, modernbert, llama, mistral, qwen2, qwen3, gemma3_text", NULL);
    tu_write_text(dir, "config.json", "{\"model_type\": 7}");
    read_fails("model_type number", dir, EMB_ERR_FORMAT, "\"model_type\" must be a string", NULL);
    tu_rmtree(dir);
    free(dir);
}

typedef struct bad_field {
    const char *fixture, *key, *value_json;
    emb_status status;
    const char *expect;
} bad_field;

static const bad_field bad_fields[] = {
    {"bert-e5", "hidden_size", "\"32\"", EMB_ERR_FORMAT, "\"hidden_size\" must be an integer"},
    {"bert-e5", "hidden_size", "32.0", EMB_ERR_FORMAT, "\"hidden_size\" must be an integer"},
    {"bert-e5", "hidden_size", "null", EMB_ERR_FORMAT, "\"hidden_size\" is null"},
    {"bert-e5", "hidden_size", "0", EMB_ERR_FORMAT, "\"hidden_size\" = 0 is out of range"},
    {"bert-e5", "hidden_size", "-32", EMB_ERR_FORMAT, "\"hidden_size\" = -32 is out of range"},
    {"bert-e5", "hidden_size", "2097152", EMB_ERR_FORMAT, "\"hidden_size\" = 2097152 is out of range"},
    {"bert-e5", "hidden_size", "30", EMB_ERR_FORMAT, "does not divide hidden_size = 30"},
    {"bert-e5", "num_hidden_layers", "0", EMB_ERR_FORMAT, "\"num_hidden_layers\" = 0"},
    {"bert-e5", "num_hidden_layers", "true", EMB_ERR_FORMAT, "\"num_hidden_layers\" must be an integer"},
    {"bert-e5", "num_attention_heads", "0", EMB_ERR_FORMAT, "\"num_attention_heads\" = 0"},
    {"bert-e5", "intermediate_size", "[64]", EMB_ERR_FORMAT, "\"intermediate_size\" must be an integer"},
    {"bert-e5", "max_position_embeddings", "0", EMB_ERR_FORMAT, "\"max_position_embeddings\" = 0"},
    {"bert-e5", "vocab_size", "99999999999", EMB_ERR_FORMAT, "\"vocab_size\" = 99999999999"},
    {"bert-e5", "type_vocab_size", "0", EMB_ERR_FORMAT, "\"type_vocab_size\" = 0"},
    {"bert-e5", "pad_token_id", "5000", EMB_ERR_FORMAT, "\"pad_token_id\" = 5000"},
    {"bert-e5", "pad_token_id", "\"0\"", EMB_ERR_FORMAT, "\"pad_token_id\" must be an integer"},
    {"bert-e5", "layer_norm_eps", "-1e-12", EMB_ERR_FORMAT, "\"layer_norm_eps\""},
    {"bert-e5", "layer_norm_eps", "0", EMB_ERR_FORMAT, "\"layer_norm_eps\""},
    {"bert-e5", "layer_norm_eps", "\"1e-12\"", EMB_ERR_FORMAT, "\"layer_norm_eps\" must be a number"},
    {"bert-e5", "hidden_act", "5", EMB_ERR_FORMAT, "\"hidden_act\" must be a string"},
    {"bert-e5", "hidden_act", "\"a_very_long_activation_name\"", EMB_ERR_UNSUPPORTED,
     "hidden_act 'a_very_long_activation_name'"},
    {"bert-e5", "tie_word_embeddings", "\"yes\"", EMB_ERR_FORMAT, "\"tie_word_embeddings\" must be true or false"},
    {"bert-e5", "position_embedding_type", "\"relative_key\"", EMB_ERR_UNSUPPORTED,
     "position_embedding_type 'relative_key'"},
    {"mistral-e5", "num_key_value_heads", "3", EMB_ERR_FORMAT, "\"num_key_value_heads\" = 3 must divide"},
    {"mistral-e5", "num_key_value_heads", "8", EMB_ERR_FORMAT, "\"num_key_value_heads\" = 8 must divide"},
    {"mistral-e5", "num_key_value_heads", "0", EMB_ERR_FORMAT, "\"num_key_value_heads\" = 0"},
    {"mistral-e5", "rms_norm_eps", "\"x\"", EMB_ERR_FORMAT, "\"rms_norm_eps\" must be a number"},
    {"mistral-e5", "rope_theta", "-10000", EMB_ERR_FORMAT, "\"rope_theta\""},
    {"mistral-e5", "rope_theta", "0", EMB_ERR_FORMAT, "\"rope_theta\""},
    /* RoPE scaling: each type's required fields, malformed values, types we
     * do not implement (both spellings: rope_scaling / rope_parameters) */
    {"mistral-e5", "rope_scaling", "{\"type\": \"longrope\", \"short_factor\": [1]}",
     EMB_ERR_UNSUPPORTED,
     "\"rope_scaling\" type 'longrope' is not supported (supported: default, linear, dynamic, "
     "yarn, llama3)"},
    {"qwen2-gte", "rope_parameters", "{\"rope_type\": \"su\", \"factor\": 4.0}",
     EMB_ERR_UNSUPPORTED, "\"rope_parameters\" type 'su' is not supported"},
    {"qwen2-gte", "rope_scaling", "\"yarn\"", EMB_ERR_FORMAT, "\"rope_scaling\" must be an object"},
    {"qwen2-gte", "rope_parameters", "[1]", EMB_ERR_FORMAT,
     "\"rope_parameters\" must be an object"},
    {"qwen2-gte", "rope_scaling", "{\"rope_type\": 7}", EMB_ERR_FORMAT,
     "\"rope_scaling\" type must be a string"},
    {"mistral-e5", "rope_scaling", "{\"type\": \"linear\"}", EMB_ERR_FORMAT,
     "\"rope_scaling\" of type 'linear' needs \"factor\""},
    {"mistral-e5", "rope_scaling", "{\"type\": \"dynamic\", \"factor\": null}", EMB_ERR_FORMAT,
     "of type 'dynamic' needs \"factor\""},
    {"mistral-e5", "rope_scaling", "{\"type\": \"dynamic\", \"factor\": \"2\"}", EMB_ERR_FORMAT,
     "\"rope_scaling\" \"factor\" must be a number > 0"},
    {"mistral-e5", "rope_scaling", "{\"type\": \"linear\", \"factor\": 0}", EMB_ERR_FORMAT,
     "\"factor\" must be a number > 0"},
    {"mistral-e5", "rope_scaling", "{\"type\": \"yarn\"}", EMB_ERR_FORMAT,
     "of type 'yarn' needs \"factor\""},
    {"mistral-e5", "rope_scaling", "{\"type\": \"yarn\", \"factor\": 4, \"beta_fast\": -1}",
     EMB_ERR_FORMAT, "\"beta_fast\" must be a number > 0"},
    {"mistral-e5", "rope_scaling", "{\"type\": \"yarn\", \"factor\": 4, \"truncate\": 1}",
     EMB_ERR_FORMAT, "\"truncate\" must be true or false"},
    {"mistral-e5", "rope_scaling",
     "{\"type\": \"yarn\", \"factor\": 4, \"original_max_position_embeddings\": 0}",
     EMB_ERR_FORMAT, "\"original_max_position_embeddings\" = 0 is out of range"},
    {"mistral-e5", "rope_scaling",
     "{\"type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1}", EMB_ERR_FORMAT,
     "of type 'llama3' needs \"high_freq_factor\""},
    {"mistral-e5", "rope_scaling",
     "{\"type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, \"high_freq_factor\": 1}",
     EMB_ERR_FORMAT, "high_freq_factor 1 must be above low_freq_factor 4"},
    {"mistral-e5", "rope_scaling",
     "{\"type\": \"linear\", \"factor\": 2, \"partial_rotary_factor\": 0.5}",
     EMB_ERR_UNSUPPORTED, "partial_rotary_factor 0.5 is not supported"},
    {"qwen2-gte", "rope_parameters", "{\"full_attention\": {\"rope_type\": \"default\"}}",
     EMB_ERR_UNSUPPORTED, "\"rope_parameters\" per layer type is not supported"},
    {"qwen2-gte", "rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": null}",
     EMB_ERR_FORMAT, "\"rope_theta\" is null"},
    /* Qwen2/3 layer_types */
    {"qwen2-gte", "layer_types", "[\"full_attention\"]", EMB_ERR_FORMAT,
     "\"layer_types\" must be a list of num_hidden_layers (2) strings"},
    {"qwen2-gte", "layer_types", "[\"full_attention\", \"chunked_attention\"]",
     EMB_ERR_UNSUPPORTED, "layer_types[1] 'chunked_attention' is not supported"},
    {"qwen2-gte", "layer_types", "[\"sliding_attention\", \"full_attention\"]", EMB_ERR_FORMAT,
     "sliding_attention layers but there is no sliding window"},
    {"qwen3-emb", "head_dim", "0", EMB_ERR_FORMAT, "\"head_dim\" = 0"},
    {"qwen3-emb", "head_dim", "-32", EMB_ERR_FORMAT, "\"head_dim\" = -32"},
    {"qwen3-emb", "head_dim", "33", EMB_ERR_FORMAT, "head_dim 33 is odd"},
    {"qwen3-emb", "head_dim", "\"32\"", EMB_ERR_FORMAT, "\"head_dim\" must be an integer"},
    {"qwen3-emb", "attention_bias", "true", EMB_ERR_UNSUPPORTED, "attention_bias true"},
    {"qwen3-emb", "tie_word_embeddings", "1", EMB_ERR_FORMAT, "\"tie_word_embeddings\""},
    {"mistral-lm", "mlp_bias", "true", EMB_ERR_UNSUPPORTED, "mlp_bias true"},
    {"mistral-lm", "sliding_window", "\"4096\"", EMB_ERR_FORMAT, "\"sliding_window\" must be an integer"},
    {"mistral-lm", "sliding_window", "0", EMB_ERR_FORMAT, "\"sliding_window\" = 0"},
    {"mistral-lm", "pad_token_id", "2346", EMB_ERR_FORMAT, "\"pad_token_id\" = 2346"},
    {"mpnet-st", "relative_attention_num_buckets", "64", EMB_ERR_UNSUPPORTED,
     "relative_attention_num_buckets 64 is not supported for mpnet (only 32"},
    {"mpnet-st", "relative_attention_num_buckets", "\"32\"", EMB_ERR_FORMAT,
     "\"relative_attention_num_buckets\" must be an integer"},
    {"mpnet-st", "relative_attention_num_buckets", "0", EMB_ERR_FORMAT,
     "\"relative_attention_num_buckets\" = 0 is out of range"},
    {"distilbert-st", "sinusoidal_pos_embds", "1", EMB_ERR_FORMAT, "\"sinusoidal_pos_embds\""},
    {"distilbert-st", "dim", "0", EMB_ERR_FORMAT, "\"dim\" = 0"},
    {"distilbert-st", "n_heads", "5", EMB_ERR_FORMAT,
     "\"num_attention_heads\" = 5 does not divide hidden_size = 32"},
    {"distilbert-st", "hidden_dim", "\"64\"", EMB_ERR_FORMAT, "\"hidden_dim\" must be an integer"},
    {"distilbert-st", "activation", "\"\"", EMB_ERR_UNSUPPORTED, "activation '' is not supported"},
    {"roberta-st", "position_embedding_type", "\"relative_key\"", EMB_ERR_UNSUPPORTED,
     "position_embedding_type 'relative_key'"},
    {"camembert-st", "is_decoder", "true", EMB_ERR_UNSUPPORTED, "is_decoder true is not supported for camembert"},
    {"nomic-st", "rotary_emb_fraction", "0.5", EMB_ERR_UNSUPPORTED,
     "rotary_emb_fraction 0.5 is not supported for nomic_bert (only 1.0)"},
    {"nomic-st", "rotary_emb_fraction", "\"1\"", EMB_ERR_FORMAT,
     "\"rotary_emb_fraction\" must be a number"},
    {"nomic-st", "rotary_emb_interleaved", "true", EMB_ERR_UNSUPPORTED,
     "rotary_emb_interleaved true is not supported for nomic_bert"},
    {"nomic-st", "prenorm", "true", EMB_ERR_UNSUPPORTED, "prenorm true is not supported"},
    {"nomic-st", "qkv_proj_bias", "true", EMB_ERR_UNSUPPORTED, "qkv_proj_bias true"},
    {"nomic-st", "mlp_fc2_bias", "true", EMB_ERR_UNSUPPORTED, "mlp_fc2_bias true"},
    {"nomic-st", "activation_function", "\"gelu\"", EMB_ERR_UNSUPPORTED,
     "activation_function 'gelu' is not supported for nomic_bert (only swiglu)"},
    {"nomic-st", "hidden_act", "\"gelu\"", EMB_ERR_UNSUPPORTED,
     "hidden_act 'gelu' is not supported for nomic_bert (only silu"},
    {"nomic-st", "rotary_scaling_factor", "2.0", EMB_ERR_UNSUPPORTED,
     "\"rotary_scaling_factor\" is not supported for nomic_bert (only null)"},
    {"nomic-st", "rope_parameters", "{\"rope_type\": \"dynamic\", \"rope_theta\": 1000.0}",
     EMB_ERR_UNSUPPORTED,
     "rope_parameters type 'dynamic' is not supported for nomic_bert (only unscaled RoPE)"},
    {"nomic-st", "moe_every_n_layers", "2", EMB_ERR_UNSUPPORTED, "moe_every_n_layers 2"},
    {"nomic-st", "head_dim", "16", EMB_ERR_UNSUPPORTED, "head_dim 16 is not supported for nomic_bert"},
    {"gte-new", "rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}", EMB_ERR_UNSUPPORTED,
     "rope_scaling type 'linear' is not supported (only ntk)"},
    {"gte-new", "rope_scaling", "{\"type\": \"ntk\", \"factor\": 2.0, \"mixed_b\": 0.5}",
     EMB_ERR_UNSUPPORTED, "rope_scaling mixed_b is not supported"},
    {"gte-new", "rope_scaling", "{\"type\": \"ntk\"}", EMB_ERR_FORMAT, "\"factor\" = 0 is out of range"},
    {"gte-new", "rope_scaling", "[2]", EMB_ERR_FORMAT, "\"rope_scaling\" must be an object or null"},
    {"nomic-st", "rope_scaling", "{\"type\": \"ntk\", \"factor\": 2.0}", EMB_ERR_UNSUPPORTED,
     "rope_scaling type 'ntk' is not supported for nomic_bert (only unscaled RoPE)"},
    {"gte-new", "position_embedding_type", "\"absolute\"", EMB_ERR_UNSUPPORTED,
     "position_embedding_type 'absolute' is not supported for new (only rope)"},
    {"gte-new", "layer_norm_type", "\"rms_norm\"", EMB_ERR_UNSUPPORTED,
     "layer_norm_type 'rms_norm' is not supported for new"},
    {"gte-new", "pack_qkv", "false", EMB_ERR_UNSUPPORTED, "pack_qkv false is not supported for new"},
    {"gte-new", "logn_attention_scale", "true", EMB_ERR_UNSUPPORTED, "logn_attention_scale true"},
    {"gte-new", "hidden_act", "\"silu\"", EMB_ERR_UNSUPPORTED,
     "hidden_act 'silu' is not supported for new (only gelu"},
    {"gte-new", "type_vocab_size", "-1", EMB_ERR_FORMAT, "\"type_vocab_size\" = -1 is out of range"},
    {"gemma-st", "layer_types", "[\"sliding_attention\", \"full_attention\"]", EMB_ERR_FORMAT,
     "\"layer_types\" must be a list of num_hidden_layers (3)"},
    {"gemma-st", "layer_types", "[\"chunked_attention\", \"full_attention\", \"full_attention\"]",
     EMB_ERR_UNSUPPORTED, "layer_types[0] 'chunked_attention' is not supported"},
    {"gemma-st", "sliding_window", "null", EMB_ERR_FORMAT, "\"sliding_window\" must be 1 .. 2^24"},
    {"gemma-st", "sliding_window", "0", EMB_ERR_FORMAT, "\"sliding_window\" must be 1 .. 2^24"},
    {"gemma-st", "attn_logit_softcapping", "50.0", EMB_ERR_UNSUPPORTED,
     "attn_logit_softcapping is not supported for gemma3_text"},
    {"gemma-st", "query_pre_attn_scalar", "0", EMB_ERR_FORMAT, "\"query_pre_attn_scalar\""},
    {"gemma-st", "rope_parameters",
     "{\"full_attention\": {\"rope_type\": \"linear\", \"factor\": 8.0}}", EMB_ERR_UNSUPPORTED,
     "rope_parameters.full_attention type 'linear' is not supported for gemma3_text (only "
     "unscaled RoPE)"},
    {"gemma-st", "rope_parameters", "{\"sliding_attention\": 5}", EMB_ERR_FORMAT,
     "\"rope_parameters.sliding_attention\" must be an object or null"},
    {"gemma-st", "use_bidirectional_attention", "\"yes\"", EMB_ERR_FORMAT,
     "\"use_bidirectional_attention\" must be true or false"},
    {"gemma-st", "hidden_activation", "\"\"", EMB_ERR_UNSUPPORTED,
     "hidden_activation '' is not supported"},
    {"modernbert-st", "norm_eps", "0", EMB_ERR_FORMAT, "\"norm_eps\""},
    {"modernbert-st", "hidden_activation", "7", EMB_ERR_FORMAT,
     "\"hidden_activation\" must be a string"},
    {"modernbert-st", "local_attention", "-2", EMB_ERR_FORMAT, "\"local_attention\" = -2 is out of range"},
    {"modernbert-st", "global_attn_every_n_layers", "0", EMB_ERR_FORMAT,
     "\"global_attn_every_n_layers\" = 0 is out of range"},
    {"modernbert-st", "global_rope_theta", "-1", EMB_ERR_FORMAT, "\"global_rope_theta\""},
    {"modernbert-st", "layer_types", "[\"full_attention\"]", EMB_ERR_FORMAT,
     "\"layer_types\" must be a list of num_hidden_layers (5) strings"},
    {"modernbert-st", "layer_types", "[1, 2, 3, 4, 5]", EMB_ERR_UNSUPPORTED,
     "layer_types[0] '?' is not supported (full_attention, sliding_attention)"},
    {"modernbert-st", "rope_parameters", "\"x\"", EMB_ERR_FORMAT,
     "\"rope_parameters\" must be an object or null"},
    {"modernbert-st", "rope_parameters", "{\"sliding_attention\": 5}", EMB_ERR_FORMAT,
     "\"rope_parameters.sliding_attention\" must be an object or null"},
    {"modernbert-st", "rope_parameters",
     "{\"full_attention\": {\"rope_type\": \"linear\", \"factor\": 2.0}}", EMB_ERR_UNSUPPORTED,
     "rope_parameters.full_attention type 'linear' is not supported for modernbert (only "
     "unscaled RoPE)"},
    {"modernbert-st", "rope_parameters", "{\"full_attention\": {\"rope_theta\": 0}}",
     EMB_ERR_FORMAT, "\"rope_theta\" = 0 is out of range"},
    /* one refusal of scaled RoPE (cfg_rope_default) for the families that run
     * only unscaled RoPE, in each place a RoPE object can be */
    {"gte-new", "rope_parameters", "{\"rope_type\": \"yarn\", \"factor\": 2.0}",
     EMB_ERR_UNSUPPORTED,
     "rope_parameters type 'yarn' is not supported for new (only unscaled RoPE)"},
    {"nomic-st", "rope_scaling", "{\"rope_type\": 7}", EMB_ERR_FORMAT,
     "rope_scaling type must be a string"},
    {"gemma-st", "rope_scaling", "{\"rope_type\": \"linear\", \"factor\": 8.0}",
     EMB_ERR_UNSUPPORTED,
     "rope_scaling type 'linear' is not supported for gemma3_text (only unscaled RoPE)"},
    {"gemma-st", "rope_scaling", "{\"type\": \"ntk\", \"factor\": 2.0}", EMB_ERR_UNSUPPORTED,
     "rope_scaling type 'ntk' is not supported for gemma3_text (only unscaled RoPE)"},
    {"modernbert-st", "rope_parameters", "{\"rope_type\": \"linear\", \"factor\": 2.0}",
     EMB_ERR_UNSUPPORTED,
     "rope_parameters type 'linear' is not supported for modernbert (only unscaled RoPE)"},
    {"modernbert-st", "rope_scaling", "{\"rope_type\": \"dynamic\", \"factor\": 2.0}",
     EMB_ERR_UNSUPPORTED,
     "rope_scaling type 'dynamic' is not supported for modernbert (only unscaled RoPE)"},
};

/* EmbeddingGemma's config.json as transformers 4.x saved it: rope_theta
 * and rope_local_base_freq instead of rope_parameters, and the layer
 * pattern from sliding_window_pattern when layer_types is absent (layer l
 * full when (l + 1) % pattern == 0; none full when pattern > layers), into
 * main's window layers. */
static void test_gemma_legacy_config(void **state)
{
    (void)state;
    char *dir = copy_fixture("gemma-st"); /* config files only: no Dense folders */
    tu_write_text(dir, "modules.json",
                  "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
                  "\"sentence_transformers.models.Transformer\"}, {\"idx\": 1, \"name\": \"1\", "
                  "\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]");
    tu_patch_json(dir, "config.json", "rope_parameters", NULL);
    tu_patch_json(dir, "config.json", "layer_types", NULL);
    tu_patch_json(dir, "config.json", "rope_theta", json_real(500000.0));
    tu_patch_json(dir, "config.json", "rope_local_base_freq", json_real(20000.0));
    tu_patch_json(dir, "config.json", "sliding_window_pattern", json_integer(3));
    mdl_config c;
    fmt_policy pol;
    if (cv_read_config(dir, &c, &pol) != EMB_OK)
        fail_msg("%s", rt_last_error());
    assert_true(c.rope_theta == 500000.0 && c.rope_local_theta == 20000.0);
    assert_int_equal(c.sliding_window, 8);
    assert_true(mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1) && !mdl_window_layer(&c, 2));
    assert_int_equal(c.bidirectional, 1);
    fmt_policy_free(&pol);
    tu_patch_json(dir, "config.json", "sliding_window_pattern", json_integer(6));
    assert_int_equal(cv_read_config(dir, &c, &pol), EMB_OK);
    assert_true(mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1) &&
                mdl_window_layer(&c, 2)); /* all three layers sliding */
    fmt_policy_free(&pol);
    tu_patch_json(dir, "config.json", "rope_scaling", json_pack("{s:s, s:f}", "rope_type", "linear",
                                                                "factor", 8.0));
    assert_int_equal(cv_read_config(dir, &c, &pol), EMB_ERR_UNSUPPORTED);
    tu_rmtree(dir);
    free(dir);
}

static void test_bad_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_fields / sizeof bad_fields[0]; i++) {
        const bad_field *b = &bad_fields[i];
        char *dir = copy_fixture(b->fixture);
        json_error_t err;
        json_t *v = json_loads(b->value_json, JSON_DECODE_ANY, &err);
        assert_non_null(v);
        tu_patch_json(dir, "config.json", b->key, v);
        char label[256];
        snprintf(label, sizeof label, "%s with %s = %s", b->fixture, b->key, b->value_json);
        read_fails(label, dir, b->status, "config.json", b->expect, NULL);
        tu_rmtree(dir);
        free(dir);
    }
}

/* DistilBERT's sinusoidal_pos_embds true reads the same model: the stored
 * position table, as transformers loads it (the generator checks that the
 * fixture's vectors are bitwise unchanged with it). */
static void test_distilbert_sinusoidal(void **state)
{
    (void)state;
    mdl_config want, got;
    fmt_policy p;
    read_ok(FIX "distilbert-st", &want, &p);
    fmt_policy_free(&p);
    char *dir = copy_fixture("distilbert-st");
    tu_patch_json(dir, "config.json", "sinusoidal_pos_embds", json_true());
    read_ok(dir, &got, &p);
    fmt_policy_free(&p);
    assert_memory_equal(&want, &got, sizeof want);
    tu_rmtree(dir);
    free(dir);
}

/* Keys left out take the transformers config class's default. */
/* config.json `dir` with `key` set to the JSON text `value` (NULL: removed). */
static void patch_text(const char *dir, const char *key, const char *value)
{
    json_error_t err;
    json_t *v = value ? json_loads(value, JSON_DECODE_ANY, &err) : NULL;
    assert_true(!value || v);
    tu_patch_json(dir, "config.json", key, v);
}

/* cv_read_config of dir into *c, its policy freed (not looked at). */
static void read_cfg(const char *dir, mdl_config *c)
{
    fmt_policy p;
    read_ok(dir, c, &p);
    fmt_policy_free(&p);
}

/* RoPE scaling as transformers 5 reads it: rope_scaling (non-empty) before
 * rope_parameters, rope_type before type, the parameters' rope_theta before
 * the top-level one; YaRN's and llama3's defaults resolved. */
static void test_rope_scaling(void **state)
{
    (void)state;
    mdl_config c;
    char *dir = copy_fixture("mistral-e5"); /* max_position_embeddings 512 */
    patch_text(dir, "rope_scaling", "{\"type\": \"dynamic\", \"factor\": 2}");
    read_cfg(dir, &c);
    assert_int_equal(c.rope_type, MDL_ROPE_DYNAMIC);
    assert_true(c.rope_factor == 2.0 && c.rope_theta == 10000.0);
    patch_text(dir, "rope_scaling", "{\"rope_type\": \"llama3\", \"type\": \"linear\", "
                                    "\"factor\": 8, \"low_freq_factor\": 1, \"high_freq_factor\": 4}");
    read_cfg(dir, &c);
    assert_int_equal(c.rope_type, MDL_ROPE_LLAMA3);
    assert_int_equal(c.rope_original_max, 512); /* absent: max_position_embeddings */
    patch_text(dir, "rope_scaling", "{}");
    patch_text(dir, "rope_parameters",
               "{\"rope_type\": \"linear\", \"factor\": 3, \"rope_theta\": 500}");
    read_cfg(dir, &c);
    assert_int_equal(c.rope_type, MDL_ROPE_LINEAR);
    assert_true(c.rope_factor == 3.0 && c.rope_theta == 500.0);
    patch_text(dir, "rope_scaling", "{\"type\": \"linear\", \"factor\": 2}");
    read_cfg(dir, &c);
    assert_int_equal(c.rope_type, MDL_ROPE_LINEAR);
    assert_true(c.rope_factor == 2.0 && c.rope_theta == 10000.0);
    patch_text(dir, "rope_scaling", NULL);
    patch_text(dir, "rope_parameters",
               "{\"rope_type\": \"yarn\", \"factor\": null, \"original_max_position_embeddings\": "
               "128, \"mscale\": 2, \"mscale_all_dim\": 1, \"truncate\": false, \"beta_slow\": 2}");
    read_cfg(dir, &c);
    assert_int_equal(c.rope_type, MDL_ROPE_YARN);
    assert_true(c.rope_factor == 4.0); /* 512 / 128 */
    assert_true(fabs(c.rope_attn_factor - (0.2 * log(4.0) + 1) / (0.1 * log(4.0) + 1)) < 1e-15);
    assert_true(c.rope_beta_fast == 32 && c.rope_beta_slow == 2 && !c.rope_truncate);
    patch_text(dir, "rope_parameters",
               "{\"rope_type\": \"yarn\", \"factor\": 2, \"attention_factor\": 1.5}");
    read_cfg(dir, &c);
    assert_true(c.rope_attn_factor == 1.5 && c.rope_original_max == 512);
    /* the default type ignores partial_rotary_factor, as LlamaRotaryEmbedding */
    patch_text(dir, "rope_parameters", "{\"rope_type\": \"default\", \"partial_rotary_factor\": 0.5}");
    read_cfg(dir, &c);
    assert_int_equal(c.rope_type, MDL_ROPE_DEFAULT);
    tu_rmtree(dir);
    free(dir);
}

/* Which layers get a sliding window, per config class. */
static void test_sliding_window(void **state)
{
    (void)state;
    mdl_config c;
    /* Llama has no window: the key is ignored */
    char *dir = copy_fixture("llama-rope-linear");
    patch_text(dir, "sliding_window", "4");
    read_cfg(dir, &c);
    assert_int_equal(c.sliding_window, 0);
    tu_rmtree(dir);
    free(dir);
    /* Mistral: absent -> 4096 on every layer, null -> none */
    dir = copy_fixture("mistral-window-dynamic");
    patch_text(dir, "sliding_window", NULL);
    read_cfg(dir, &c);
    assert_int_equal(c.sliding_window, 4096);
    assert_true(mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1));
    patch_text(dir, "sliding_window", "null");
    read_cfg(dir, &c);
    assert_int_equal(c.sliding_window, 0);
    assert_false(mdl_window_layer(&c, 0));
    tu_rmtree(dir);
    free(dir);
    /* Qwen2 without layer_types: layers from max_window_layers on (default 28) */
    dir = copy_fixture("qwen2-window-yarn");
    patch_text(dir, "layer_types", NULL);
    read_cfg(dir, &c);
    assert_int_equal(c.sliding_window, 8);
    assert_true(!mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1));
    patch_text(dir, "max_window_layers", "0");
    read_cfg(dir, &c);
    assert_true(mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1));
    patch_text(dir, "max_window_layers", NULL);
    read_cfg(dir, &c);
    assert_true(!mdl_window_layer(&c, 0) && !mdl_window_layer(&c, 1));
    patch_text(dir, "use_sliding_window", "false");
    read_cfg(dir, &c);
    assert_int_equal(c.sliding_window, 0);
    patch_text(dir, "max_window_layers", "-1");
    patch_text(dir, "use_sliding_window", "true");
    read_fails("max_window_layers -1", dir, EMB_ERR_FORMAT, "\"max_window_layers\" = -1", NULL);
    tu_rmtree(dir);
    free(dir);
}

static void test_class_defaults(void **state)
{
    (void)state;
    mdl_config c;
    fmt_policy p;

    /* Qwen3: head_dim 128 when absent; kv heads 32 (class default) */
    char *dir = copy_fixture("qwen3-emb");
    tu_patch_json(dir, "config.json", "head_dim", NULL);
    tu_patch_json(dir, "config.json", "num_attention_heads", json_integer(32));
    tu_patch_json(dir, "config.json", "num_key_value_heads", NULL);
    tu_patch_json(dir, "config.json", "tie_word_embeddings", NULL);
    tu_patch_json(dir, "config.json", "rope_theta", NULL);
    tu_patch_json(dir, "config.json", "rms_norm_eps", NULL);
    tu_patch_json(dir, "config.json", "hidden_act", NULL);
    read_ok(dir, &c, &p);
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.kv_heads, 32);
    assert_int_equal(c.tie_embeddings, 0);
    assert_true(c.rope_theta == 10000.0);
    assert_true(c.norm_eps == 1e-6);
    assert_string_equal(c.act, "silu");
    fmt_policy_free(&p);
    /* head_dim null: hidden / heads; num_key_value_heads null: heads */
    tu_patch_json(dir, "config.json", "head_dim", json_null());
    tu_patch_json(dir, "config.json", "num_key_value_heads", json_null());
    read_ok(dir, &c, &p);
    assert_int_equal(c.head_dim, 2);
    assert_int_equal(c.kv_heads, 32);
    fmt_policy_free(&p);
    tu_rmtree(dir);
    free(dir);

    /* Mistral: no head_dim -> hidden/heads; kv heads default 8 */
    dir = copy_fixture("mistral-lm");
    tu_patch_json(dir, "config.json", "num_attention_heads", json_integer(16));
    tu_patch_json(dir, "config.json", "num_key_value_heads", NULL);
    tu_patch_json(dir, "config.json", "max_position_embeddings", NULL);
    read_ok(dir, &c, &p);
    assert_int_equal(c.kv_heads, 8);
    assert_int_equal(c.head_dim, 4);
    assert_int_equal(c.max_position, 131072);
    /* model_max_length 32768 (the sliding window, 4096 by default, caps nothing) */
    assert_int_equal(p.max_tokens, 32768);
    assert_int_equal(c.sliding_window, 4096);
    assert_int_equal(c.pad_token_id, -1);
    fmt_policy_free(&p);
    /* explicit head_dim in a mistral config is honoured */
    tu_patch_json(dir, "config.json", "head_dim", json_integer(8));
    read_ok(dir, &c, &p);
    assert_int_equal(c.head_dim, 8);
    fmt_policy_free(&p);
    /* old llama-style pad_token_id -1 means none */
    tu_patch_json(dir, "config.json", "pad_token_id", json_integer(-1));
    read_ok(dir, &c, &p);
    assert_int_equal(c.pad_token_id, -1);
    fmt_policy_free(&p);
    tu_rmtree(dir);
    free(dir);

    /* Llama: tie false, act silu, max_position 2048, kv = heads */
    dir = tu_tmpdir();
    tu_write_text(dir, "config.json",
               "{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
               " \"num_hidden_layers\": 1, \"intermediate_size\": 96, \"vocab_size\": 100,"
               " \"rope_scaling\": null}");
    read_ok(dir, &c, &p);
    assert_string_equal(c.arch, "llama");
    assert_int_equal(c.kv_heads, 4);
    assert_int_equal(c.head_dim, 16);
    assert_int_equal(c.max_position, 2048);
    assert_int_equal(c.tie_embeddings, 0);
    assert_int_equal(c.pooling, MDL_POOL_LASTTOKEN);
    assert_int_equal(c.normalize, 0);
    assert_int_equal(p.max_tokens, 2048);
    assert_int_equal(p.strip, 0);
    fmt_policy_free(&p);
    /* rope_scaling of the "default" type is plain RoPE */
    tu_write_text(dir, "config.json",
               "{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
               " \"rope_scaling\": {\"rope_type\": \"default\"}}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.layers, 32);
    assert_int_equal(c.intermediate, 11008);
    assert_int_equal(c.vocab_size, 32000);
    fmt_policy_free(&p);
    tu_rmtree(dir);
    free(dir);

    /* BERT: every default, mean pooling, no normalization without modules.json */
    dir = tu_tmpdir();
    tu_write_text(dir, "config.json", "{\"model_type\": \"bert\"}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.hidden, 768);
    assert_int_equal(c.layers, 12);
    assert_int_equal(c.heads, 12);
    assert_int_equal(c.kv_heads, 12);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.intermediate, 3072);
    assert_int_equal(c.max_position, 512);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.vocab_size, 30522);
    assert_int_equal(c.pad_token_id, 0);
    assert_true(c.norm_eps == 1e-12);
    assert_string_equal(c.act, "gelu");
    assert_int_equal(c.tie_embeddings, 1);
    assert_int_equal(c.pooling, MDL_POOL_MEAN);
    assert_int_equal(c.normalize, 0);
    assert_int_equal(p.max_tokens, 512);
    assert_int_equal(p.include_prompt, 1);
    assert_null(p.prompt_query);
    fmt_policy_free(&p);
    /* XLM-R: pad 1, position limit max_position - 2 */
    tu_write_text(dir, "config.json", "{\"model_type\": \"xlm-roberta\", \"max_position_embeddings\": 514}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.pad_token_id, 1);
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);
    /* MPNet (MPNetConfig): 512 positions from 2 on, no token types (a
     * type_vocab_size key is not MPNet's and is ignored), eps 1e-12 */
    tu_write_text(dir, "config.json", "{\"model_type\": \"mpnet\", \"type_vocab_size\": 2}");
    read_ok(dir, &c, &p);
    assert_string_equal(c.arch, "mpnet");
    assert_int_equal(c.vocab_size, 30527);
    assert_int_equal(c.max_position, 512);
    assert_int_equal(c.type_vocab_size, 0);
    assert_int_equal(c.pad_token_id, 1);
    assert_true(c.norm_eps == 1e-12);
    assert_int_equal(p.max_tokens, 510);
    fmt_policy_free(&p);
    /* RoBERTa / CamemBERT (RobertaConfig, CamembertConfig): XLM-R's defaults
     * but the vocabulary; DistilBERT (DistilBertConfig): 6 layers, 768
     * under "dim", no token types, BertConfig's key names not read, a
     * layer_norm_eps key ignored (its LayerNorms fix 1e-12) */
    tu_write_text(dir, "config.json", "{\"model_type\": \"roberta\"}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.vocab_size, 50265);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(p.max_tokens, 510);
    fmt_policy_free(&p);
    tu_write_text(dir, "config.json", "{\"model_type\": \"camembert\"}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.vocab_size, 30522);
    assert_int_equal(c.pad_token_id, 1);
    fmt_policy_free(&p);
    tu_write_text(dir, "config.json", "{\"model_type\": \"distilbert\", \"hidden_size\": 64, "
                                   "\"num_hidden_layers\": 2, \"layer_norm_eps\": 1e-5, "
                                   "\"hidden_act\": \"relu\", \"type_vocab_size\": 2}");
    read_ok(dir, &c, &p);
    assert_string_equal(c.arch, "distilbert");
    assert_int_equal(c.hidden, 768);
    assert_int_equal(c.layers, 6);
    assert_int_equal(c.heads, 12);
    assert_int_equal(c.intermediate, 3072);
    assert_int_equal(c.type_vocab_size, 0);
    assert_int_equal(c.pad_token_id, 0);
    assert_true(c.norm_eps == 1e-12);
    assert_string_equal(c.act, "gelu");
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);
    /* sinusoidal_pos_embds: the stored position table, as transformers loads it */
    tu_write_text(dir, "config.json", "{\"model_type\": \"distilbert\", \"activation\": \"relu\", "
                                   "\"sinusoidal_pos_embds\": true}");
    read_ok(dir, &c, &p);
    assert_string_equal(c.act, "relu");
    /* nomic_bert in nomic's original GPT2Config spelling (as the released
     * config.json): n_embd ..., n_inner null -> int(8 · 768 / 3) rounded up to
     * 256s, vocab padded to 64s, rotary_emb_base; no pad_token_id needed */
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"nomic_bert\", \"n_embd\": 64, \"n_layer\": 3, \"n_head\": 4, "
                  "\"n_inner\": null, \"n_positions\": 8192, \"layer_norm_epsilon\": 1e-12, "
                  "\"vocab_size\": 30522, \"pad_vocab_size_multiple\": 64, "
                  "\"activation_function\": \"swiglu\", \"rotary_emb_fraction\": 1.0, "
                  "\"rotary_emb_base\": 1000, \"rotary_emb_interleaved\": false, "
                  "\"rotary_emb_scale_base\": null, \"rotary_scaling_factor\": null, "
                  "\"qkv_proj_bias\": false, \"mlp_fc1_bias\": false, \"mlp_fc2_bias\": false, "
                  "\"prenorm\": false, \"causal\": false}");
    read_ok(dir, &c, &p);
    assert_string_equal(c.arch, "nomic_bert");
    assert_int_equal(c.hidden, 64);
    assert_int_equal(c.layers, 3);
    assert_int_equal(c.heads, 4);
    assert_int_equal(c.intermediate, 256); /* int(8 * 64 / 3) = 170 -> 256 */
    assert_int_equal(c.vocab_size, 30528);
    assert_int_equal(c.max_position, 8192);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.pad_token_id, 0);
    assert_true(c.norm_eps == 1e-12);
    assert_true(c.rope_theta == 1000.0);
    assert_string_equal(c.act, "silu");
    fmt_policy_free(&p);
    /* NomicBertConfig's defaults: nomic-embed-text-v1.5's shape */
    tu_write_text(dir, "config.json", "{\"model_type\": \"nomic_bert\"}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.hidden, 768);
    assert_int_equal(c.intermediate, 3072);
    assert_int_equal(c.vocab_size, 30528);
    assert_int_equal(c.max_position, 2048);
    assert_true(c.rope_theta == 1000.0);
    assert_int_equal(p.max_tokens, 2048);
    fmt_policy_free(&p);
    /* gte: transformers' GteConfig spelling (rope_parameters) and defaults
     * (gte-multilingual-base's shape); new: NewConfig's defaults and
     * type_vocab_size 0 (gte-base-en-v1.5's: no token_type table) */
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"gte\", \"rope_parameters\": {\"rope_theta\": 20000.0, "
                  "\"rope_type\": \"default\"}}");
    read_ok(dir, &c, &p);
    assert_string_equal(c.arch, "gte");
    assert_int_equal(c.vocab_size, 250048);
    assert_int_equal(c.max_position, 8192);
    assert_int_equal(c.type_vocab_size, 1);
    assert_true(c.rope_theta == 20000.0);
    assert_string_equal(c.act, "gelu");
    fmt_policy_free(&p);
    tu_write_text(dir, "config.json", "{\"model_type\": \"new\", \"type_vocab_size\": 0}");
    read_ok(dir, &c, &p);
    assert_true(c.rope_ntk == 0.0);
    assert_int_equal(c.vocab_size, 30528);
    assert_int_equal(c.max_position, 2048);
    assert_int_equal(c.type_vocab_size, 0);
    assert_int_equal(c.pad_token_id, -1);
    assert_true(c.rope_theta == 10000.0);
    fmt_policy_free(&p);
    /* gte-base-en-v1.5's fixed NTK scaling */
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"new\", \"rope_theta\": 500000, "
                  "\"rope_scaling\": {\"type\": \"ntk\", \"factor\": 2.0}}");
    read_ok(dir, &c, &p);
    assert_true(c.rope_ntk == 2.0);
    assert_true(c.rope_theta == 500000.0);
    fmt_policy_free(&p);
    /* MPNetEmbeddings' padding_idx is 1 whatever pad_token_id says */
    tu_write_text(dir, "config.json", "{\"model_type\": \"mpnet\", \"pad_token_id\": 0}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.pad_token_id, 0);
    assert_int_equal(p.max_tokens, 510);
    fmt_policy_free(&p);
    tu_rmtree(dir);
    free(dir);
}

/* ModernBERT's layer pattern and RoPE bases, in the legacy keys (as the
 * real checkpoints' config.json: global_attn_every_n_layers, local_attention,
 * global_rope_theta, local_rope_theta) and transformers 5's (layer_types,
 * rope_parameters, whose thetas win), and ModernBertConfig's defaults. */
static void test_modernbert_config(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    mdl_config c;
    fmt_policy p;
    tu_write_text(dir, "config.json", "{\"model_type\": \"modernbert\"}");
    read_ok(dir, &c, &p);
    assert_int_equal(c.vocab_size, 50368);
    assert_int_equal(c.layers, 22);
    assert_int_equal(c.intermediate, 1152);
    assert_int_equal(c.pad_token_id, 50283);
    assert_true(!mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1) && mdl_window_layer(&c, 2) &&
                !mdl_window_layer(&c, 3) && mdl_window_layer(&c, 4)); /* global every 3 */
    assert_int_equal(c.sliding_window, 128);
    assert_true(c.rope_theta == 160000.0 && c.rope_local_theta == 10000.0);
    assert_true(c.norm_eps == 1e-5);
    assert_string_equal(c.act, "gelu");
    assert_int_equal(c.type_vocab_size, 0);
    assert_int_equal(p.max_tokens, 8192);
    fmt_policy_free(&p);
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"modernbert\", \"num_hidden_layers\": 4, "
                  "\"global_attn_every_n_layers\": 2, \"local_attention\": 64, "
                  "\"global_rope_theta\": 80000.0, \"local_rope_theta\": 5000, "
                  "\"hidden_activation\": \"gelu_new\", \"hidden_act\": \"relu\"}");
    read_ok(dir, &c, &p);
    assert_true(!mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1) && !mdl_window_layer(&c, 2) &&
                mdl_window_layer(&c, 3));
    assert_int_equal(c.sliding_window, 64);
    assert_true(c.rope_theta == 80000.0 && c.rope_local_theta == 5000.0);
    assert_string_equal(c.act, "gelu_new"); /* hidden_act is not ModernBERT's key */
    fmt_policy_free(&p);
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"modernbert\", \"num_hidden_layers\": 4, "
                  "\"global_attn_every_n_layers\": 3, \"global_rope_theta\": 80000.0, "
                  "\"layer_types\": [\"full_attention\", \"sliding_attention\", "
                  "\"full_attention\", \"sliding_attention\"], "
                  "\"rope_parameters\": {\"full_attention\": {\"rope_type\": \"default\", "
                  "\"rope_theta\": 40000}, \"sliding_attention\": null}}");
    read_ok(dir, &c, &p);
    /* layer_types wins over global_attn_every_n_layers */
    assert_true(!mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1) && !mdl_window_layer(&c, 2) &&
                mdl_window_layer(&c, 3));
    assert_true(c.rope_theta == 40000.0 && c.rope_local_theta == 10000.0);
    fmt_policy_free(&p);
    /* one layer, or no later global layer: layer 0 alone is global */
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"modernbert\", \"num_hidden_layers\": 3, "
                  "\"layer_types\": [\"full_attention\", \"sliding_attention\", "
                  "\"sliding_attention\"]}");
    read_ok(dir, &c, &p);
    assert_true(!mdl_window_layer(&c, 0) && mdl_window_layer(&c, 1) && mdl_window_layer(&c, 2));
    fmt_policy_free(&p);
    /* any pattern, as ModernBertModel reads layer_types per layer; every
     * layer global: no window, no local base; local_attention 0 reaches as
     * far as 1 (each token itself) */
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"modernbert\", \"num_hidden_layers\": 3, "
                  "\"local_attention\": 0, "
                  "\"layer_types\": [\"sliding_attention\", \"full_attention\", "
                  "\"sliding_attention\"]}");
    read_ok(dir, &c, &p);
    assert_true(mdl_window_layer(&c, 0) && !mdl_window_layer(&c, 1) && mdl_window_layer(&c, 2));
    assert_int_equal(c.sliding_window, 1);
    assert_int_equal(mdl_window_reach(&c), 1);
    fmt_policy_free(&p);
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"modernbert\", \"num_hidden_layers\": 3, "
                  "\"global_attn_every_n_layers\": 1}");
    read_ok(dir, &c, &p);
    assert_true(!mdl_window_layer(&c, 0) && !mdl_window_layer(&c, 1) && !mdl_window_layer(&c, 2));
    assert_true(c.sliding_window == 0 && c.rope_local_theta == 0.0);
    fmt_policy_free(&p);
    tu_write_text(dir, "config.json",
                  "{\"model_type\": \"modernbert\", \"num_attention_heads\": 4, "
                  "\"hidden_size\": 36}");
    read_fails("odd head_dim", dir, EMB_ERR_FORMAT, "head_dim 9 is odd", NULL);
    tu_rmtree(dir);
    free(dir);
}

static void test_max_tokens(void **state)
{
    (void)state;
    mdl_config c;
    fmt_policy p;
    char *dir = copy_fixture("xlmr-me5");

    /* no sentence_bert_config.json: tokenizer_config.json's 512 vs 514 - 2 */
    remove_file(dir, "sentence_bert_config.json");
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);
    tu_patch_json(dir, "tokenizer_config.json", "model_max_length", json_integer(100));
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 100);
    fmt_policy_free(&p);
    /* the int(1e30) sentinel, written as transformers writes it */
    tu_write_text(dir, "tokenizer_config.json",
               "{\"model_max_length\": 1000000000000000019884624838656, \"x\": 3}");
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);
    tu_write_text(dir, "tokenizer_config.json", "{\"model_max_length\": 1e30}");
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);
    tu_write_text(dir, "tokenizer_config.json", "{\"model_max_length\": \"512\"}");
    read_fails("model_max_length string", dir, EMB_ERR_FORMAT, "tokenizer_config.json",
               "model_max_length", NULL);
    tu_write_text(dir, "tokenizer_config.json", "{\"model_max_length\": 0}");
    read_fails("model_max_length 0", dir, EMB_ERR_FORMAT, "model_max_length", NULL);
    remove_file(dir, "tokenizer_config.json");
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);

    /* max_seq_length wins, capped by the position limit */
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 1000}");
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 77, \"do_lower_case\": true}");
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 77);
    assert_int_equal(p.lowercase, 1);
    fmt_policy_free(&p);
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": null}");
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 512);
    fmt_policy_free(&p);
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": -5}");
    read_fails("max_seq_length -5", dir, EMB_ERR_FORMAT, "sentence_bert_config.json",
               "max_seq_length", NULL);
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 12.5}");
    read_fails("max_seq_length 12.5", dir, EMB_ERR_FORMAT, "max_seq_length", NULL);
    tu_write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 64");
    read_fails("sentence_bert_config invalid", dir, EMB_ERR_FORMAT, "sentence_bert_config.json",
               "line 1", NULL);
    tu_rmtree(dir);
    free(dir);

    /* an active sliding window no longer caps max_tokens (it is computed) */
    dir = copy_fixture("qwen2-gte");
    tu_patch_json(dir, "config.json", "use_sliding_window", json_true());
    tu_patch_json(dir, "config.json", "sliding_window", json_integer(100));
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 256);
    assert_int_equal(c.sliding_window, 100);
    fmt_policy_free(&p);
    tu_patch_json(dir, "config.json", "use_sliding_window", json_false());
    read_ok(dir, &c, &p);
    assert_int_equal(p.max_tokens, 256);
    assert_int_equal(c.sliding_window, 0);
    fmt_policy_free(&p);
    tu_rmtree(dir);
    free(dir);
}

/* dir/tokenizer_config.json = fixture folder `from`'s without
 * model_max_length, or with transformers' no-limit value int(1e30) put first
 * (as text: jansson cannot hold an integer that big). */
static void write_tokenizer_config(const char *dir, const char *from, int sentinel)
{
    char *src = path2(from, "tokenizer_config.json");
    json_error_t err;
    json_t *root = json_load_file(src, 0, &err);
    assert_non_null(root);
    json_object_del(root, "model_max_length");
    char *text = json_dumps(root, JSON_COMPACT);
    assert_non_null(text);
    assert_true(text[0] == '{');
    const char *key = sentinel ? "\"model_max_length\": 1000000000000000019884624838656" : "";
    const char *sep = sentinel && text[1] != '}' ? ", " : "";
    size_t n = strlen(key) + strlen(sep) + strlen(text) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "{%s%s%s", key, sep, text + 1);
    tu_write_text(dir, "tokenizer_config.json", out);
    free(out);
    free(text);
    json_decref(root);
    free(src);
}

/* Convert dir (with or without --tokenizer-only) into out/; the file's max tokens. */
static size_t convert_max_tokens(const char *dir, const char *out, int tokenizer_only)
{
    emb_convert_options o;
    emb_convert_options_init(&o);
    o.tokenizer_only = tokenizer_only;
    char *path = tu_convert(dir, out, tokenizer_only ? "tok.h5" : "full.h5", &o);
    emb_model *m = NULL;
    assert_int_equal(emb_model_open(path, NULL, &m), EMB_OK);
    size_t n = emb_model_max_tokens(m);
    emb_model_close(m);
    free(path);
    return n;
}

/* model_max_length = int(1e30), what transformers writes when a model sets
 * no limit, converts with and without --tokenizer-only whichever reader
 * reads tokenizer_config.json: the vocab.txt and vocab.json + merges.txt
 * readers had a JSON loader of their own that refused it ("too big
 * integer"). It means no limit: the full file's max_tokens is the model's
 * position limit, as without the key; a tokenizer-only file has none (0). */
static void test_max_length_sentinel_convert(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    char *dir = copy_fixture("bert-e5");
    static const char *const copied[] = { "model.safetensors", "vocab.txt",
                                          "special_tokens_map.json", "tokenizer.json" };
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        char *src = path2(FIX "bert-e5", copied[i]);
        tu_copy_file(src, dir, copied[i]);
        free(src);
    }
    remove_file(dir, "sentence_bert_config.json");
    /* with tokenizer.json, then with vocab.txt only */
    for (int with_json = 1; with_json >= 0; with_json--) {
        if (!with_json)
            remove_file(dir, "tokenizer.json");
        write_tokenizer_config(dir, FIX "bert-e5", 0);
        size_t want = convert_max_tokens(dir, out, 0);
        assert_int_equal(want, 512); /* max_position_embeddings */
        write_tokenizer_config(dir, FIX "bert-e5", 1);
        assert_int_equal(convert_max_tokens(dir, out, 0), want);
        assert_int_equal(convert_max_tokens(dir, out, 1), 0);
    }
    tu_rmtree(dir);
    free(dir);

    /* vocab.json + merges.txt (GPT-2), tokenizer only */
    dir = tu_tmpdir();
    tu_copy_file(GPT2 "/vocab.json", dir, "vocab.json");
    tu_copy_file(GPT2 "/merges.txt", dir, "merges.txt");
    write_tokenizer_config(dir, GPT2, 1);
    assert_int_equal(convert_max_tokens(dir, out, 1), 0);
    tu_rmtree(dir);
    free(dir);
    tu_rmtree(out);
    free(out);
}

/* The folder's pooling modes are want[n], in this order. */
static void expect_modes(const char *dir, size_t n, const mdl_pooling *want)
{
    mdl_config c;
    fmt_policy p;
    read_ok(dir, &c, &p);
    assert_int_equal(c.n_pool_extra + 1, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(mdl_pool_mode(&c, i), want[i]);
    fmt_policy_free(&p);
}

static void test_pooling_modules(void **state)
{
    (void)state;
    mdl_config c;
    fmt_policy p;
    char *dir = copy_fixture("bert-e5");

    /* each Pooling mode */
    static const struct {
        const char *key;
        emb_status st;
        mdl_pooling pooling;
        const char *name;
    } modes[] = {
        {"pooling_mode_cls_token", EMB_OK, MDL_POOL_CLS, "cls"},
        {"pooling_mode_lasttoken", EMB_OK, MDL_POOL_LASTTOKEN, "lasttoken"},
        {"pooling_mode_max_tokens", EMB_OK, MDL_POOL_MAX, "max"},
        {"pooling_mode_weightedmean_tokens", EMB_OK, MDL_POOL_WEIGHTEDMEAN, "weightedmean"},
        {"pooling_mode_mean_sqrt_len_tokens", EMB_OK, MDL_POOL_MEAN_SQRT_LEN, "mean-sqrt-len"},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_mean_tokens", json_false());
        tu_patch_json(dir, "1_Pooling/config.json", modes[i].key, json_true());
        if (modes[i].st == EMB_OK) {
            read_ok(dir, &c, &p);
            assert_int_equal(c.pooling, modes[i].pooling);
            fmt_policy_free(&p);
        } else {
            read_fails(modes[i].key, dir, modes[i].st, "1_Pooling/config.json", modes[i].name,
                       "not supported", NULL);
        }
        tu_patch_json(dir, "1_Pooling/config.json", modes[i].key, json_false());
    }
    /* several legacy modes at once: concatenated in sentence-transformers'
     * order (cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken),
     * whatever the order of the keys */
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_lasttoken", json_true());
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_mean_tokens", json_true());
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_cls_token", json_true());
    expect_modes(dir, 3, (const mdl_pooling[]){ MDL_POOL_CLS, MDL_POOL_MEAN, MDL_POOL_LASTTOKEN });
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_cls_token", json_false());
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_lasttoken", json_false());
    /* no mode at all: mean, as sentence-transformers */
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_mean_tokens", json_false());
    expect_modes(dir, 1, (const mdl_pooling[]){ MDL_POOL_MEAN });
    /* a "pooling_mode" list keeps its own order; an empty or too long one,
     * or a non-string item, is refused */
    json_t *list = json_pack("[sss]", "weightedmean", "max", "cls");
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", list);
    expect_modes(dir, 3, (const mdl_pooling[]){ MDL_POOL_WEIGHTEDMEAN, MDL_POOL_MAX, MDL_POOL_CLS });
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", json_array());
    read_fails("empty mode list", dir, EMB_ERR_UNSUPPORTED, "0 pooling modes", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode",
          json_pack("[sssssss]", "cls", "max", "mean", "mean", "cls", "max", "mean"));
    read_fails("7 modes", dir, EMB_ERR_UNSUPPORTED, "7 pooling modes", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", json_pack("[si]", "cls", 3));
    read_fails("mode list int", dir, EMB_ERR_FORMAT, "pooling_mode '?'", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", json_integer(3));
    read_fails("mode int", dir, EMB_ERR_FORMAT, "must be a string or a list", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", NULL);
    /* an absent pooling_mode_mean_tokens defaults to true, as in sentence-transformers */
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode_mean_tokens", NULL);
    read_ok(dir, &c, &p);
    assert_int_equal(c.pooling, MDL_POOL_MEAN);
    fmt_policy_free(&p);
    /* pooling_mode string, include_prompt */
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", json_string("lasttoken"));
    tu_patch_json(dir, "1_Pooling/config.json", "include_prompt", json_false());
    read_ok(dir, &c, &p);
    assert_int_equal(c.pooling, MDL_POOL_LASTTOKEN);
    assert_int_equal(p.include_prompt, 0);
    fmt_policy_free(&p);
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", json_string("median"));
    read_fails("pooling_mode median", dir, EMB_ERR_FORMAT, "pooling_mode 'median'", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "pooling_mode", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "include_prompt", json_string("no"));
    read_fails("include_prompt string", dir, EMB_ERR_FORMAT, "\"include_prompt\"", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "include_prompt", json_true());
    tu_patch_json(dir, "1_Pooling/config.json", "word_embedding_dimension", json_integer(64));
    read_fails("dimension mismatch", dir, EMB_ERR_FORMAT, "word_embedding_dimension 64", NULL);
    tu_patch_json(dir, "1_Pooling/config.json", "word_embedding_dimension", json_integer(32));

    /* modules.json: without Normalize, with Dense, pooling folder missing, bad paths */
    const char *mod_t = "{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
                        "\"sentence_transformers.models.Transformer\"}";
    char buf[1024];
    snprintf(buf, sizeof buf,
             "[%s, {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": "
             "\"sentence_transformers.models.Pooling\"}]",
             mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_ok(dir, &c, &p);
    assert_int_equal(c.normalize, 0);
    assert_int_equal(c.pooling, MDL_POOL_MEAN);
    fmt_policy_free(&p);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"},"
             " {\"path\": \"2_Dense\", \"type\": \"sentence_transformers.models.Dense\"},"
             " {\"path\": \"3_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}]",
             mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("Dense module without its folder", dir, EMB_ERR_IO, "2_Dense/config.json", NULL);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"9_Pool\", \"type\": \"sentence_transformers.models.Pooling\"},"
             " {\"path\": \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}]",
             mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("pooling folder missing", dir, EMB_ERR_IO, "9_Pool/config.json", NULL);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"../1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]",
             mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("pooling path ..", dir, EMB_ERR_FORMAT, "\"path\"", NULL);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"\", \"type\": \"sentence_transformers.models.Pooling\"}]", mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("pooling path empty", dir, EMB_ERR_FORMAT, "\"path\"", NULL);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"/etc\", \"type\": \"sentence_transformers.models.Pooling\"}]", mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("pooling path absolute", dir, EMB_ERR_FORMAT, "\"path\"", NULL);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"},"
             " {\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]",
             mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("two poolings", dir, EMB_ERR_UNSUPPORTED, "Pooling module after Pooling", NULL);
    snprintf(buf, sizeof buf,
             "[%s, {\"path\": \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"},"
             " {\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]",
             mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("normalize first", dir, EMB_ERR_UNSUPPORTED, "Normalize module before Pooling", NULL);
    snprintf(buf, sizeof buf, "[%s]", mod_t);
    tu_write_text(dir, "modules.json", buf);
    read_fails("no pooling", dir, EMB_ERR_UNSUPPORTED, "no sentence_transformers.models.Pooling", NULL);
    tu_write_text(dir, "modules.json", "{\"0\": 1}");
    read_fails("modules object", dir, EMB_ERR_FORMAT, "modules.json", NULL);
    tu_write_text(dir, "modules.json", "[{\"path\": \"\", \"type\": \"sentence_transformers.models.StaticEmbedding\"}]");
    read_fails("static embedding", dir, EMB_ERR_UNSUPPORTED, "StaticEmbedding", NULL);
    tu_write_text(dir, "modules.json", "[{\"path\": \"\"}]");
    read_fails("module without type", dir, EMB_ERR_FORMAT, "no \"type\"", NULL);

    /* no modules.json at all: encoder defaults */
    remove_file(dir, "modules.json");
    read_ok(dir, &c, &p);
    assert_int_equal(c.pooling, MDL_POOL_MEAN);
    assert_int_equal(c.normalize, 0);
    assert_string_equal(p.prompt_query, "query: "); /* prompts still read */
    fmt_policy_free(&p);
    tu_rmtree(dir);
    free(dir);
}

static void test_prompts(void **state)
{
    (void)state;
    mdl_config c;
    fmt_policy p;
    char *dir = copy_fixture("bert-e5");
    const char *f = "config_sentence_transformers.json";

    tu_patch_json(dir, f, "prompts", json_pack("{s:s,s:s,s:s}", "query", "Q: ", "document", "D: ",
                                       "classification", "C: "));
    tu_patch_json(dir, f, "default_prompt_name", json_string("classification"));
    read_ok(dir, &c, &p);
    assert_string_equal(p.prompt_query, "Q: ");
    assert_string_equal(p.prompt_passage, "D: ");
    assert_string_equal(p.prompt_default, "C: ");
    fmt_policy_free(&p);

    /* passage wins over document */
    tu_patch_json(dir, f, "prompts", json_pack("{s:s,s:s}", "document", "D: ", "passage", "P: "));
    tu_patch_json(dir, f, "default_prompt_name", json_string("passage"));
    read_ok(dir, &c, &p);
    assert_null(p.prompt_query);
    assert_string_equal(p.prompt_passage, "P: ");
    assert_string_equal(p.prompt_default, "P: ");
    fmt_policy_free(&p);

    tu_patch_json(dir, f, "default_prompt_name", json_string("query"));
    read_fails("default prompt missing", dir, EMB_ERR_FORMAT, "default_prompt_name 'query'", NULL);
    tu_patch_json(dir, f, "default_prompt_name", json_integer(1));
    read_fails("default prompt number", dir, EMB_ERR_FORMAT, "\"default_prompt_name\"", NULL);
    tu_patch_json(dir, f, "default_prompt_name", json_null());
    tu_patch_json(dir, f, "prompts", json_pack("{s:i}", "query", 5));
    read_fails("prompt number", dir, EMB_ERR_FORMAT, "prompts[\"query\"] must be a string", NULL);
    tu_patch_json(dir, f, "prompts", json_string("query: "));
    read_fails("prompts string", dir, EMB_ERR_FORMAT, "\"prompts\" must be an object", NULL);
    tu_patch_json(dir, f, "prompts", json_object());
    read_ok(dir, &c, &p);
    assert_null(p.prompt_query);
    assert_null(p.prompt_passage);
    fmt_policy_free(&p);
    tu_write_text(dir, f, "{\"prompts\": {\"query\": \"q\"");
    read_fails("prompts invalid JSON", dir, EMB_ERR_FORMAT, f, "line 1", NULL);
    remove_file(dir, f);
    read_ok(dir, &c, &p);
    assert_null(p.prompt_query);
    assert_int_equal(c.normalize, 1);
    fmt_policy_free(&p);
    tu_rmtree(dir);
    free(dir);
}

/* Random byte flips in each JSON file: any status but a crash or a leak. */
static void test_fuzz_flips(void **state)
{
    (void)state;
    static const char *const fixtures_fz[] = {"bert-e5", "qwen3-emb", "xlmr-me5"};
    uint32_t seed = 777;
    for (size_t fx = 0; fx < 3; fx++) {
        char *dir = copy_fixture(fixtures_fz[fx]);
        for (size_t fi = 0; fi < sizeof st_files / sizeof st_files[0]; fi++) {
            char src[512];
            snprintf(src, sizeof src, FIX "%s/%s", fixtures_fz[fx], st_files[fi]);
            size_t len;
            char *orig = tu_read_file(src, &len);
            assert_non_null(orig);
            for (int iter = 0; iter < 60; iter++) {
                char *buf = strdup(orig);
                assert_non_null(buf);
                for (int k = 0; k < 1 + iter % 3; k++) {
                    seed = seed * 1103515245u + 12345u;
                    size_t pos = (seed >> 8) % len;
                    seed = seed * 1103515245u + 12345u;
                    char c = (char)(seed >> 16);
                    buf[pos] = c ? c : '0';
                }
                tu_write_text(dir, st_files[fi], buf);
                free(buf);
                mdl_config c;
                fmt_policy p;
                emb_status st = cv_read_config(dir, &c, &p);
                if (st == EMB_OK) {
                    assert_true(c.hidden > 0 && c.heads > 0 && c.head_dim > 0 && p.max_tokens > 0);
                    fmt_policy_free(&p);
                } else {
                    assert_true(st == EMB_ERR_FORMAT || st == EMB_ERR_UNSUPPORTED ||
                                st == EMB_ERR_IO);
                    assert_true(strlen(rt_last_error()) > 0);
                }
            }
            tu_write_text(dir, st_files[fi], orig);
            free(orig);
        }
        tu_rmtree(dir);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_fixture_table_complete),
        cmocka_unit_test(test_missing_and_invalid),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_gemma_legacy_config),
        cmocka_unit_test(test_class_defaults),
        cmocka_unit_test(test_rope_scaling),
        cmocka_unit_test(test_sliding_window),
        cmocka_unit_test(test_distilbert_sinusoidal),
        cmocka_unit_test(test_modernbert_config),
        cmocka_unit_test(test_max_tokens),
        cmocka_unit_test(test_max_length_sentinel_convert),
        cmocka_unit_test(test_pooling_modules),
        cmocka_unit_test(test_prompts),
        cmocka_unit_test(test_fuzz_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
