/* The emb program's default model (no -m, no $EMB_MODEL), in a temporary
 * prefix holding a copy of the program: the real model all-MiniLM-L6-v2.h5
 * beats the demo wordnet-mini.h5 wherever each is (<prefix>/share/emb, then
 * <prefix>/models); the demo fallback says so once on stderr, naming the
 * model and why; -m and $EMB_MODEL never print it. A converted fixture
 * stands in for both files: the path that `emb info` reports tells them
 * apart. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"

static char *tmp;     /* realpath of the temp dir: /proc/self/exe is resolved */
static char *fixture; /* a converted fixture model */
static char libdir[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    char *t = tu_tmpdir();
    tmp = realpath(t, NULL);
    free(t);
    /* the library next to the program under test (bin/ -> lib/, also in build/asan) */
    char bin[PATH_MAX + 8];
    snprintf(bin, sizeof bin, "%s", tu_emb_bin());
    char *slash = strrchr(bin, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(bin, sizeof bin, ".");
    char lib[PATH_MAX + 16];
    snprintf(lib, sizeof lib, "%s/../lib", bin);
    if (!tmp || !realpath(lib, libdir))
        return -1;
    fixture = tu_convert("tests/fixtures/models/bert-e5", tmp, "fixture.h5", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    free(fixture);
    return 0;
}

/* A fresh <tmp>/<name>/ with bin/emb (a copy, not a link: the program finds
 * its prefix from its own resolved path) and, for each of the NULL-ended
 * relative paths in `models`, a copy of the fixture there. Returns the
 * prefix (static). */
static const char *make_prefix(const char *name, const char *const *models)
{
    static char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s/%s", tmp, name);
    assert_int_equal(tu_run(NULL, "mkdir -p %s/bin %s/share/emb %s/models && cp %s %s/bin/emb",
                            prefix, prefix, prefix, tu_emb_bin(), prefix), 0);
    for (size_t i = 0; models[i]; i++)
        assert_int_equal(tu_run(NULL, "cp %s %s/%s", fixture, prefix, models[i]), 0);
    return prefix;
}

/* `emb info` of the copy in `prefix` with `args`, $EMB_MODEL set to `env`
 * (unset when NULL). Returns its exit status; *path: the "path" it reports
 * (malloc'ed, NULL if none); *err: its stderr (malloc'ed). */
static int run_info(const char *prefix, const char *args, const char *env, char **path, char **err)
{
    char env_arg[PATH_MAX + 32];
    if (env)
        snprintf(env_arg, sizeof env_arg, "EMB_MODEL=%s", env);
    else
        snprintf(env_arg, sizeof env_arg, "-u EMB_MODEL");
    char *out = NULL;
    int rc = tu_run(&out, "env %s LD_LIBRARY_PATH=%s %s/bin/emb info %s 2>%s/err", env_arg, libdir,
                    prefix, args, tmp);
    *path = NULL;
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    if (j && json_is_string(json_object_get(j, "path")))
        *path = strdup(json_string_value(json_object_get(j, "path")));
    json_decref(j);
    free(out);
    char errpath[PATH_MAX + 8];
    snprintf(errpath, sizeof errpath, "%s/err", tmp);
    size_t len;
    *err = tu_read_file(errpath, &len);
    assert_non_null(*err);
    return rc;
}

/* Run `emb info` without -m in `prefix`; assert it picks prefix/`want` and
 * prints nothing on stderr. */
static void assert_picks_quietly(const char *prefix, const char *want)
{
    char *path, *err;
    assert_int_equal(run_info(prefix, "", NULL, &path, &err), 0);
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof expected, "%s/%s", prefix, want);
    if (!path || strcmp(path, expected) != 0 || *err)
        fail_msg("picked %s, expected %s; stderr: %s", path ? path : "(none)", expected, err);
    free(path);
    free(err);
}

static void test_real_beats_demo_in_one_dir(void **state)
{
    (void)state;
    static const char *const installed[] = { "share/emb/wordnet-mini.h5",
                                             "share/emb/all-MiniLM-L6-v2.h5", NULL };
    assert_picks_quietly(make_prefix("installed", installed), "share/emb/all-MiniLM-L6-v2.h5");
    static const char *const source[] = { "models/wordnet-mini.h5", "models/all-MiniLM-L6-v2.h5",
                                          NULL };
    assert_picks_quietly(make_prefix("source", source), "models/all-MiniLM-L6-v2.h5");
}

static void test_real_anywhere_beats_demo(void **state)
{
    (void)state;
    /* the source tree's real model beats the installed demo */
    static const char *const models[] = { "share/emb/wordnet-mini.h5", "models/all-MiniLM-L6-v2.h5",
                                          NULL };
    assert_picks_quietly(make_prefix("mixed", models), "models/all-MiniLM-L6-v2.h5");
}

static void test_installed_before_source(void **state)
{
    (void)state;
    static const char *const models[] = { "share/emb/all-MiniLM-L6-v2.h5",
                                          "models/all-MiniLM-L6-v2.h5", "models/wordnet-mini.h5",
                                          NULL };
    assert_picks_quietly(make_prefix("both", models), "share/emb/all-MiniLM-L6-v2.h5");
}

/* Only the demo: picked, and stderr says which file and why, once (info
 * asks for the default twice: to open it and to print its path). */
static void test_demo_fallback_says_why(void **state)
{
    (void)state;
    static const char *const models[] = { "models/wordnet-mini.h5", NULL };
    const char *prefix = make_prefix("demo", models);
    char *path, *err;
    assert_int_equal(run_info(prefix, "", NULL, &path, &err), 0);
    char demo[PATH_MAX + 32], want[4 * PATH_MAX];
    snprintf(demo, sizeof demo, "%s/models/wordnet-mini.h5", prefix);
    snprintf(want, sizeof want,
             "emb: using the demo model wordnet-mini (%s): no real model found "
             "(all-MiniLM-L6-v2.h5 not in %s/share/emb, %s/models); run 'make models' to "
             "fetch one, or pass -m MODEL.h5\n",
             demo, prefix, prefix);
    if (!path || strcmp(path, demo) != 0 || strcmp(err, want) != 0)
        fail_msg("picked %s; stderr:\n%s\nexpected:\n%s", path ? path : "(none)", err, want);
    free(path);
    free(err);
}

/* -m and $EMB_MODEL are the user's choice: no notice even if only the demo
 * is there */
static void test_explicit_model_is_quiet(void **state)
{
    (void)state;
    static const char *const models[] = { "share/emb/wordnet-mini.h5", NULL };
    const char *prefix = make_prefix("explicit", models);
    char args[PATH_MAX + 8];
    snprintf(args, sizeof args, "-m %s", fixture);
    char *path, *err;
    assert_int_equal(run_info(prefix, args, NULL, &path, &err), 0);
    assert_non_null(path);
    assert_string_equal(path, fixture);
    assert_string_equal(err, "");
    free(path);
    free(err);
    assert_int_equal(run_info(prefix, "", fixture, &path, &err), 0);
    assert_non_null(path);
    assert_string_equal(path, fixture);
    assert_string_equal(err, "");
    free(path);
    free(err);
}

static void test_no_default_model(void **state)
{
    (void)state;
    static const char *const none[] = { NULL };
    const char *prefix = make_prefix("empty", none);
    char *path, *err;
    int rc = run_info(prefix, "", NULL, &path, &err);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    assert_null(path);
    char want[4 * PATH_MAX];
    snprintf(want, sizeof want,
             "emb: no model given: use -m MODEL.h5 or set EMB_MODEL (all-MiniLM-L6-v2.h5 or "
             "wordnet-mini.h5 not in %s/share/emb, %s/models)\n",
             prefix, prefix);
    assert_string_equal(err, want);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_beats_demo_in_one_dir),
        cmocka_unit_test(test_real_anywhere_beats_demo),
        cmocka_unit_test(test_installed_before_source),
        cmocka_unit_test(test_demo_fallback_says_why),
        cmocka_unit_test(test_explicit_model_is_quiet),
        cmocka_unit_test(test_no_default_model),
    };
    return cmocka_run_group_tests_name("cli_default_model", tests, setup, teardown);
}
