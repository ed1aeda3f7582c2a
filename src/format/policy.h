/* format/policy.h — the input policy a model file carries (/config
 * attributes): prompts, template, strip and lowercase rules, the token
 * limit. convert/ fills it from the sentence-transformers files, format/
 * stores and loads it, api/policy.c applies it to each text. Reached
 * through format/format.h (the folder's door). */
#ifndef EMB_FORMAT_POLICY_H
#define EMB_FORMAT_POLICY_H

#include <stdint.h>

/* Input policy and pooling read from the sentence-transformers files. */
typedef struct fmt_policy {
    char *prompt_query;   /* prompts["query"], or NULL */
    char *prompt_passage; /* prompts["passage"] or prompts["document"], or NULL */
    char *prompt_default; /* prompts[default_prompt_name], or NULL */
    char *template_;      /* input template with "{text}", or NULL */
    int32_t strip;        /* 1: Python str.strip() of (prompt + text), as sentence-transformers
                             up to 5.3; 0: used as is, as 5.4 and later (the converter's
                             default); a file without the attribute means 1 */
    int64_t max_tokens;   /* max_seq_length, else min(model_max_length, positions) */
    int32_t include_prompt; /* 1_Pooling include_prompt (1 if absent) */
    int32_t lowercase;    /* sentence_bert_config.json do_lower_case: sentence-transformers
                             lowercases (str.lower()) the input before tokenizing */
} fmt_policy;

/* Zero `p` and set the defaults a file without the attributes means:
 * strip 1, include_prompt 1, max_tokens 0 (no limit), no prompts. */
void fmt_policy_defaults(fmt_policy *p);

/* Free the strings of `p` and set them to NULL (p itself is the caller's). */
void fmt_policy_free(fmt_policy *p);

#endif
