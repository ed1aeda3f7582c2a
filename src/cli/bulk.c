/* cli/bulk: `emb embed --input FILE --out VECTORS.h5` — a corpus to a
 * vectors file. A reader thread parses (and counts tokens of) the next batch
 * while the current one encodes (two slots, taken in input order); each
 * encoded batch is appended to the journal VECTORS.h5.partial and synced;
 * at the end the vectors file is written from the journal and the journal
 * removed. A rerun of the same command resumes from the journal, or says a
 * complete file is complete; any other job for the same output is refused. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/bulk.h"

typedef struct slot {
    bulk_rec *r;
    size_t n, cap, tokens;
    long long pos;   /* input bytes read when the slot was filled */
    int full, last;  /* last: the reader's final slot (end of input or failure) */
} slot;

typedef struct pipeline {
    const bulk_args *a;
    const emb_model *m;
    FILE *in;
    const uint64_t *done_line, *done_hash; /* the journal's records */
    size_t n_done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot s[2];
    int stop;        /* main -> reader: stop reading */
    int failed;      /* reader -> main: bad input (msg) */
    char msg[640];
    char input_sha[65];
    /* the reader's input buffer: buf[start, len) not yet returned */
    char *buf;
    size_t start, len, cap;
    long long consumed; /* bytes returned as lines */
    int eof;
    emb_sha256 *h;
} pipeline;

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* The next input line (newline included, if any) into *line, a view valid
 * until the next call: its length, 0 at the end of the input, -1 on a read
 * error, -2 when told to stop. Reads with read(2) after poll(2) with a
 * timeout, so that a silent pipe does not keep the reader from seeing
 * `stop`. */
static ssize_t next_line(pipeline *p, const char **line)
{
    int fd = fileno(p->in);
    for (;;) {
        char *nl = p->len > p->start ? memchr(p->buf + p->start, '\n', p->len - p->start) : NULL;
        if (nl || (p->eof && p->len > p->start)) {
            size_t n = nl ? (size_t)(nl - (p->buf + p->start)) + 1 : p->len - p->start;
            *line = p->buf + p->start;
            p->start += n;
            p->consumed += (long long)n;
            return (ssize_t)n;
        }
        if (p->eof)
            return 0;
        if (p->start) { /* keep the partial line at the front */
            memmove(p->buf, p->buf + p->start, p->len - p->start);
            p->len -= p->start;
            p->start = 0;
        }
        if (p->cap - p->len < 4096) {
            size_t cap = p->cap ? 2 * p->cap : 1 << 16;
            char *g = realloc(p->buf, cap);
            if (!g)
                return -1;
            p->buf = g;
            p->cap = cap;
        }
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int ready = poll(&pf, 1, 100);
        if (p->stop)
            return -2;
        if (ready == 0 || (ready < 0 && errno == EINTR))
            continue;
        ssize_t got = read(fd, p->buf + p->len, p->cap - p->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            p->eof = 1;
        p->len += (size_t)got;
    }
}

/* Wait until slot s is free (or stop); returns 0, or -1 when told to stop. */
static int wait_free(pipeline *p, slot *s)
{
    pthread_mutex_lock(&p->mu);
    while (s->full && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    int stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop ? -1 : 0;
}

static void publish(pipeline *p, slot *s, int last)
{
    if (s->n) {
        emb_text *t = malloc(s->n * sizeof *t);
        if (t) {
            for (size_t i = 0; i < s->n; i++)
                t[i] = (emb_text){ s->r[i].text, s->r[i].text_len };
            cli_count_tokens(p->m, t, s->n, p->a->enc.kind, &s->tokens);
            free(t);
        }
    }
    s->pos = p->consumed;
    pthread_mutex_lock(&p->mu);
    s->full = 1;
    s->last = last;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *reader(void *arg)
{
    pipeline *p = arg;
    const bulk_args *a = p->a;
    size_t k = 0, b = 0;
    uint64_t lineno = 0;
    ssize_t got;
    slot *s = &p->s[0];
    if (emb_sha256_open(&p->h) != EMB_OK) {
        snprintf(p->msg, sizeof p->msg, "out of memory");
        goto fail;
    }
    if (wait_free(p, s) != 0)
        goto out;
    const char *line;
    while ((got = next_line(p, &line)) > 0) {
        if (p->stop)
            goto out;
        lineno++;
        emb_sha256_update(p->h, line, (size_t)got);
        bulk_rec r;
        int rc = bulk_parse_line(a->format, a->id_field, a->text_field, line,
                                 cli_chomp(line, (size_t)got), lineno, &r, p->msg, sizeof p->msg);
        if (rc < 0)
            goto fail;
        if (rc == 0)
            continue;
        r.raw_hash = bulk_fnv(BULK_FNV_BASIS, line, (size_t)got);
        if (k < p->n_done) { /* already in the journal: the same input? */
            if (p->done_line[k] != lineno || p->done_hash[k] != r.raw_hash) {
                snprintf(p->msg, sizeof p->msg,
                         "line %llu: the input differs from the one the journal was made from "
                         "(its record %zu is another line); not resumed",
                         (unsigned long long)lineno, k + 1);
                bulk_rec_free(&r);
                goto fail;
            }
            bulk_rec_free(&r);
            k++;
            continue;
        }
        bulk_rec *g = cli_grow(s->r, &s->cap, s->n, sizeof *g, a->batch);
        if (!g) {
            bulk_rec_free(&r);
            snprintf(p->msg, sizeof p->msg, "out of memory");
            goto fail;
        }
        s->r = g;
        s->r[s->n++] = r;
        k++;
        if (s->n == a->batch) {
            publish(p, s, 0);
            s = &p->s[++b % 2];
            if (wait_free(p, s) != 0)
                goto out;
        }
    }
    if (got == -2)
        goto out;
    if (got < 0) {
        snprintf(p->msg, sizeof p->msg, "read error: %s", strerror(errno));
        goto fail;
    }
    if (k < p->n_done) {
        snprintf(p->msg, sizeof p->msg,
                 "the input ends after %zu records but the journal holds %zu: another input; "
                 "not resumed", k, p->n_done);
        goto fail;
    }
    emb_sha256_final(p->h, p->input_sha);
    publish(p, s, 1);
    goto out;
fail:
    p->failed = 1;
    publish(p, s, 1);
out:
    return NULL;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct progress {
    int on;
    long long total_bytes, pos0; /* input size (0: unknown), position at start */
    double t0, shown;
    size_t texts, tokens;
} progress;

static void progress_draw(progress *g, long long pos)
{
    double t = now_s(), dt = t - g->t0;
    if (!g->on || t - g->shown < 0.5 || dt <= 0)
        return;
    g->shown = t;
    fprintf(stderr, "\remb embed: %zu texts, %.1f texts/s, %.0f tokens/s", g->texts,
            (double)g->texts / dt, (double)g->tokens / dt);
    if (g->total_bytes > 0 && pos > g->pos0) {
        double eta = dt * (double)(g->total_bytes - pos) / (double)(pos - g->pos0);
        fprintf(stderr, ", ETA %dm%02ds", (int)(eta / 60), (int)eta % 60);
    }
    fprintf(stderr, "   ");
}

/* The journal's records (line, raw hash), to check a resumed input by. */
typedef struct done_list {
    uint64_t *line, *hash;
    size_t n, cap;
    size_t tokens;
} done_list;

static int on_done(const bulk_jrec *r, void *arg)
{
    done_list *d = arg;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        uint64_t *l = realloc(d->line, cap * sizeof *l), *h = l ? realloc(d->hash, cap * sizeof *h) : NULL;
        if (l)
            d->line = l;
        if (!l || !h) {
            fprintf(stderr, "emb embed: out of memory\n");
            return -1;
        }
        d->hash = h;
        d->cap = cap;
    }
    d->line[d->n] = r->line;
    d->hash[d->n++] = r->raw_hash;
    return 0;
}

static char *path_plus(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/* An existing OUT.h5: 0 when it is this job's complete result (the leftover
 * journal of a run killed after its rename is removed), 1 otherwise
 * (refused, message printed). */
static int check_complete(const bulk_args *a, FILE *in, json_t *now, const char *jpath)
{
    json_t *was = NULL;
    char sha_was[65], sha_now[65];
    uint64_t count = 0;
    if (bulk_h5_identity(a->out, &was, sha_was, &count) != 0)
        return 1;
    int differ = bulk_identity_diff(a->out, was, now);
    json_decref(was);
    if (differ) {
        fprintf(stderr, "emb embed: %s not overwritten: remove it or choose another --out\n", a->out);
        return 1;
    }
    emb_sha256 *h = NULL;
    char buf[1 << 16];
    size_t got;
    if (emb_sha256_open(&h) != EMB_OK)
        return 1;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        emb_sha256_update(h, buf, got);
    emb_sha256_final(h, sha_now);
    emb_sha256_close(h);
    if (strcmp(sha_was, sha_now) != 0) {
        fprintf(stderr, "emb embed: %s was made from a different input (input_sha256 %s there, "
                        "%s now); not overwritten: remove it or choose another --out\n",
                a->out, sha_was, sha_now);
        return 1;
    }
    if (unlink(jpath) == 0)
        fprintf(stderr, "emb embed: removed %s, left by a run stopped after its file was complete\n",
                jpath);
    fprintf(stderr, "emb embed: %s is complete (%llu texts); nothing to do\n", a->out,
            (unsigned long long)count);
    return 0;
}

/* Open or create the journal: its records' lines and hashes into *d, a torn
 * last record cut off. 0, or 1 (refused / failed, message printed). *created
 * tells whether this run made it. */
static int open_journal(const char *jpath, json_t *now, size_t dim, done_list *d, int *created)
{
    *created = 0;
    FILE *jf = fopen(jpath, "rb");
    if (!jf) {
        char *text = json_dumps(now, JSON_COMPACT | JSON_SORT_KEYS);
        int rc = text ? bulk_journal_create(jpath, text) : -1;
        free(text);
        *created = rc == 0;
        return rc == 0 ? 0 : 1;
    }
    char *text = bulk_journal_identity(jf, jpath);
    json_t *was = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    int rc = 1;
    if (!was) {
        goto done;
    }
    if (bulk_identity_diff(jpath, was, now)) {
        fprintf(stderr, "emb embed: %s kept as it is: rerun the command that started it, or "
                        "remove it to start over\n", jpath);
        goto done;
    }
    long end;
    if (bulk_journal_scan(jf, dim, on_done, d, &end) < 0)
        goto done;
    fseek(jf, 0, SEEK_END);
    if (ftell(jf) > end) {
        if (truncate(jpath, end) != 0) {
            fprintf(stderr, "emb embed: cannot cut the torn record off %s: %s\n", jpath, strerror(errno));
            goto done;
        }
        fprintf(stderr, "emb embed: %s: dropped a torn record at its end\n", jpath);
    }
    fprintf(stderr, "emb embed: resuming from %s: %zu texts done\n", jpath, d->n);
    rc = 0;
done:
    json_decref(was);
    fclose(jf);
    return rc;
}

/* Write the vectors file from the journal, then remove the journal. */
static int finish(const bulk_args *a, const char *jpath, json_t *now, const char *sha, size_t count)
{
    FILE *jf = fopen(jpath, "rb");
    char *text = jf ? bulk_journal_identity(jf, jpath) : NULL;
    int rc = text && bulk_h5_write(a->out, jf, now, sha, count) == 0 ? 0 : 1;
    free(text);
    if (jf)
        fclose(jf);
    if (rc == 0 && unlink(jpath) != 0) {
        fprintf(stderr, "emb embed: cannot remove %s: %s\n", jpath, strerror(errno));
        rc = 1;
    }
    return rc;
}

/* Encode the pipeline's batches into the journal (fd) in input order.
 * 0 (input done), 1 (failure), 130 (SIGINT). */
static int encode_loop(pipeline *p, int fd, size_t *count, progress *g)
{
    size_t dim = emb_model_dim(p->m);
    float *vec = malloc(p->a->batch * (dim ? dim : 1) * sizeof *vec);
    char *buf = NULL;
    size_t cap = 0;
    int rc = vec ? 0 : 1;
    for (size_t b = 0; rc == 0; b++) {
        slot *s = &p->s[b % 2];
        pthread_mutex_lock(&p->mu);
        while (!s->full && !interrupted) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            t.tv_nsec += 200000000;
            if (t.tv_nsec >= 1000000000) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&p->cv, &p->mu, &t);
        }
        pthread_mutex_unlock(&p->mu);
        if (interrupted) { /* what the journal holds is kept; the rest waits for a rerun */
            rc = 130;
            break;
        }
        size_t len = 0;
        if (s->n) {
            emb_text *t = malloc(s->n * sizeof *t);
            emb_status st = t ? EMB_OK : EMB_ERR_NO_MEMORY;
            for (size_t i = 0; t && i < s->n; i++)
                t[i] = (emb_text){ s->r[i].text, s->r[i].text_len };
            if (st == EMB_OK)
                st = emb_encode(p->m, t, s->n, &p->a->enc, vec);
            free(t);
            if (st != EMB_OK) {
                char what[64];
                snprintf(what, sizeof what, "embed: line %llu..%llu",
                         (unsigned long long)s->r[0].line, (unsigned long long)s->r[s->n - 1].line);
                rc = cli_fail(what, st);
            }
            for (size_t i = 0; rc == 0 && i < s->n; i++) {
                if (bulk_journal_encode(&buf, &len, &cap, *count + i, &s->r[i], p->a->store_text,
                                        vec + i * dim, dim) != 0) {
                    fprintf(stderr, "emb embed: line %llu: out of memory, or a record over 1 GiB\n",
                            (unsigned long long)s->r[i].line);
                    rc = 1;
                }
            }
            if (rc == 0 && bulk_journal_append(fd, buf, len) != 0)
                rc = 1;
            if (rc == 0) {
                *count += s->n;
                g->texts += s->n;
                g->tokens += s->tokens;
                progress_draw(g, s->pos);
            }
        }
        int last = s->last;
        for (size_t i = 0; i < s->n; i++)
            bulk_rec_free(&s->r[i]);
        pthread_mutex_lock(&p->mu);
        s->n = 0;
        s->tokens = 0;
        s->full = 0;
        if (last || rc != 0 || interrupted)
            p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (rc == 0 && last)
            break;
        if (rc == 0 && interrupted)
            rc = 130;
    }
    pthread_mutex_lock(&p->mu);
    p->stop = 1; /* the reader stops at its next line or slot */
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    free(vec);
    free(buf);
    return rc;
}

int bulk_run(const bulk_args *a)
{
    int rc = 1, created = 0, fd = -1, started = 0;
    emb_model *m = NULL;
    json_t *now = NULL;
    done_list d = { 0 };
    pipeline p;
    memset(&p, 0, sizeof p);
    char *jpath = path_plus(a->out, ".partial");
    FILE *in = !strcmp(a->input, "-") ? stdin : fopen(a->input, "rb");
    if (!in) {
        fprintf(stderr, "emb embed: cannot open %s: %s\n", a->input, strerror(errno));
        goto done;
    }
    m = cli_open_model_compute(a->model, a->compute);
    if (!jpath || !m || !(now = bulk_identity_make(m, a)))
        goto done;
    if (access(a->out, F_OK) == 0) {
        rc = check_complete(a, in, now, jpath);
        goto done;
    }
    size_t dim = emb_model_dim(m);
    if (open_journal(jpath, now, dim, &d, &created) != 0)
        goto done;
    fd = open(jpath, O_WRONLY | O_APPEND);
    if (fd < 0) {
        fprintf(stderr, "emb embed: cannot open %s: %s\n", jpath, strerror(errno));
        goto done;
    }
    p.a = a;
    p.m = m;
    p.in = in;
    p.done_line = d.line;
    p.done_hash = d.hash;
    p.n_done = d.n;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    /* SIGINT goes to this thread (the reader blocks it): finish the batch,
     * keep the journal, exit 130 */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    sigset_t block, prev;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_t th;
    pthread_sigmask(SIG_BLOCK, &block, &prev);
    started = pthread_create(&th, NULL, reader, &p) == 0;
    pthread_sigmask(SIG_SETMASK, &prev, NULL);
    if (!started) {
        fprintf(stderr, "emb embed: cannot start the reader thread\n");
        goto done;
    }
    struct stat sb;
    progress g = { .on = isatty(STDERR_FILENO), .t0 = now_s(), .pos0 = 0 };
    if (in != stdin && fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode))
        g.total_bytes = (long long)sb.st_size;
    size_t count = d.n;
    rc = encode_loop(&p, fd, &count, &g);
    pthread_join(th, NULL);
    sigaction(SIGINT, &old, NULL);
    double dt = now_s() - g.t0;
    if (g.on)
        fprintf(stderr, "\r%*s\r", 79, "");
    if (rc == 0 && p.failed) {
        fprintf(stderr, "emb embed: %s: %s\n", a->input, p.msg);
        rc = 1;
    }
    if (rc == 0) {
        close(fd);
        fd = -1;
        rc = finish(a, jpath, now, p.input_sha, count);
    } else if (count == 0 && created) {
        unlink(jpath); /* nothing done: leave nothing behind */
    } else if (rc == 130) {
        fprintf(stderr, "emb embed: interrupted: %zu texts saved in %s; rerun the same command "
                        "to continue\n", count, jpath);
    } else {
        fprintf(stderr, "emb embed: %zu texts kept in %s; rerun the same command to continue\n",
                count, jpath);
    }
    fprintf(stderr, "emb embed: %zu texts (%zu from the journal), %zu tokens, %.2f s, %.1f texts/s, "
                    "%.0f tokens/s%s%s\n",
            g.texts, d.n, g.tokens, dt, dt > 0 ? (double)g.texts / dt : 0.0,
            dt > 0 ? (double)g.tokens / dt : 0.0, rc == 0 ? " -> " : "", rc == 0 ? a->out : "");
done:
    if (started) {
        for (int i = 0; i < 2; i++) {
            for (size_t k = 0; k < p.s[i].n; k++)
                bulk_rec_free(&p.s[i].r[k]);
            free(p.s[i].r);
        }
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.cv);
        free(p.buf);
        emb_sha256_close(p.h);
    }
    if (fd >= 0)
        close(fd);
    if (in && in != stdin)
        fclose(in);
    free(d.line);
    free(d.hash);
    json_decref(now);
    emb_model_close(m);
    free(jpath);
    return rc;
}
