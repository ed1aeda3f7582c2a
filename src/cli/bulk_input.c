/* cli/bulk: one input line to a record (id, text) for `emb embed --out`:
 * plain lines (id = line number), TSV (id<TAB>text) or JSONL (an object with
 * an id field and a text field). docs/cli.md lists the rules. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bulk.h"

uint64_t bulk_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points past
 * U+10FFFF)? */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
                 : c >= 0xf0 && c <= 0xf4 ? 3 : 9;
        if (n == 9 || n > len - i - 1)
            return 0;
        for (size_t k = 1; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if (n == 2) {
            unsigned c1 = s[i + 1];
            if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f))
                return 0;
        } else if (n == 3) {
            unsigned c1 = s[i + 1];
            if ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f))
                return 0;
        }
        i += n + 1;
    }
    return 1;
}

/* A JSON number id as text: an integer in decimal, a real in the shortest
 * %.{15,16,17}g form that reads back to the same double (the source spelling
 * of ordinary numbers). */
static int number_id(json_t *v, char *buf, size_t cap)
{
    if (json_is_integer(v))
        return snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    double d = json_real_value(v);
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return n;
}

int bulk_parse_line(bulk_format f, const char *id_field, const char *text_field, const char *s,
                    size_t len, uint64_t line, bulk_rec *r, char *msg, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->line = line;
    if (len == 0)
        return 0;
    if (!utf8_valid((const unsigned char *)s, len)) {
        snprintf(msg, cap, "line %llu: invalid UTF-8", (unsigned long long)line);
        return -1;
    }
    const char *id = NULL, *text = s;
    size_t id_len = 0, text_len = len;
    char numbuf[64];
    json_t *j = NULL;
    if (f == BULK_LINES) {
        id_len = (size_t)snprintf(numbuf, sizeof numbuf, "%llu", (unsigned long long)line);
        id = numbuf;
    } else if (f == BULK_TSV) {
        const char *tab = memchr(s, '\t', len);
        if (!tab) {
            snprintf(msg, cap, "line %llu: no tab (TSV lines are id<TAB>text)", (unsigned long long)line);
            return -1;
        }
        id = s;
        id_len = (size_t)(tab - s);
        text = tab + 1;
        text_len = len - id_len - 1;
        if (id_len == 0) {
            snprintf(msg, cap, "line %llu: empty id", (unsigned long long)line);
            return -1;
        }
    } else {
        json_error_t err;
        j = json_loadb(s, len, JSON_ALLOW_NUL, &err);
        if (!j || !json_is_object(j)) {
            snprintf(msg, cap, "line %llu: %s", (unsigned long long)line,
                     j ? "expected a JSON object" : err.text);
            json_decref(j);
            return -1;
        }
        json_t *jid = json_object_get(j, id_field), *jt = json_object_get(j, text_field);
        if (!jid || !jt) {
            snprintf(msg, cap, "line %llu: no \"%s\" field (--%s-field)", (unsigned long long)line,
                     !jid ? id_field : text_field, !jid ? "id" : "text");
            json_decref(j);
            return -1;
        }
        if (json_is_string(jid)) {
            id = json_string_value(jid);
            id_len = json_string_length(jid);
        } else if (json_is_number(jid)) {
            id_len = (size_t)number_id(jid, numbuf, sizeof numbuf);
            id = numbuf;
        } else {
            snprintf(msg, cap, "line %llu: \"%s\" must be a string or a number",
                     (unsigned long long)line, id_field);
            json_decref(j);
            return -1;
        }
        if (!json_is_string(jt)) {
            snprintf(msg, cap, "line %llu: \"%s\" must be a string", (unsigned long long)line,
                     text_field);
            json_decref(j);
            return -1;
        }
        text = json_string_value(jt);
        text_len = json_string_length(jt);
    }
    if (text_len == 0) {
        snprintf(msg, cap, "line %llu: empty text", (unsigned long long)line);
        json_decref(j);
        return -1;
    }
    r->id = cli_strndup(id, id_len);
    r->text = cli_strndup(text, text_len);
    r->id_len = id_len;
    r->text_len = text_len;
    json_decref(j);
    if (!r->id || !r->text) {
        bulk_rec_free(r);
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    return 1;
}

void bulk_rec_free(bulk_rec *r)
{
    free(r->id);
    free(r->text);
    r->id = r->text = NULL;
}
