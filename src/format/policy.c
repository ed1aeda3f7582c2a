/* The input policy's defaults and its strings' lifetime (format/policy.h). */
#include <stdlib.h>
#include <string.h>

#include "format/policy.h"

void fmt_policy_defaults(fmt_policy *p)
{
    memset(p, 0, sizeof *p);
    p->strip = 1;
    p->include_prompt = 1;
}

void fmt_policy_free(fmt_policy *p)
{
    if (!p)
        return;
    free(p->prompt_query);
    free(p->prompt_passage);
    free(p->prompt_default);
    free(p->template_);
    p->prompt_query = p->prompt_passage = p->prompt_default = p->template_ = NULL;
}
