/* Build products and installation: SONAME and exported symbols, the header
 * as C99 and C++, `make install` into a staged DESTDIR, pkg-config, a C
 * program built against the staged install, the installed CLI's default
 * model, and `make uninstall`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* Run a shell command, capturing stdout+stderr; fail the test on a non-zero
 * exit, printing the output. Returns the malloc'ed output. */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = NULL;
    int rc = tu_run(&out, "( %s ) 2>&1", cmd);
    if (rc != 0) {
        print_error("command failed (%d): %s\n%s\n", rc, cmd, out);
        free(out);
        fail();
    }
    return out;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_soname_and_exports(void **state)
{
    (void)state;
    char *out = run("readelf -d lib/libemb.so.1.0.0");
    assert_non_null(strstr(out, "Library soname: [libemb.so.1]"));
    free(out);
    assert_true(exists("lib/libemb.so.1") && exists("lib/libemb.so") && exists("lib/libemb.a"));
    /* every defined dynamic symbol but the version node (type A) */
    out = run("nm -D --defined-only lib/libemb.so.1.0.0 | awk '$2 != \"A\" {print $3}'");
    size_t count = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "emb_", 4) != 0) {
            print_error("exported symbol outside the emb_ namespace: %s\n", line);
            fail();
        }
        count++;
    }
    assert_true(count >= 15);
    free(out);
}

static void test_header_c99_and_cxx(void **state)
{
    (void)state;
    free(run("cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c include/emb.h"));
    free(run("g++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c++ include/emb.h"));
}

static void test_staged_install(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir();
    char stage[1024];
    snprintf(stage, sizeof stage, "%s/stage", tmp);
    /* a clean make: not the sanitizer build that may be running this test */
    free(run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u OUT -u SANITIZE make -s install PREFIX=/usr DESTDIR=%s", stage));
    static const char *const files[] = {
        "usr/include/emb.h", "usr/lib/libemb.so.1.0.0", "usr/lib/libemb.so.1", "usr/lib/libemb.so",
        "usr/lib/libemb.a", "usr/bin/emb", "usr/lib/pkgconfig/emb.pc",
        "usr/share/emb/wordnet-mini.h5",
    };
    /* the real default model is installed when `make models` made it */
    static const char *const real = "usr/share/emb/all-MiniLM-L6-v2.h5";
    int have_real = exists("models/all-MiniLM-L6-v2.h5");
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", stage, real);
    if (exists(path) != have_real) {
        print_error("%s: installed %d, but models/all-MiniLM-L6-v2.h5 exists %d\n", path,
                    exists(path), have_real);
        fail();
    }
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", stage, files[i]);
        if (!exists(path)) {
            print_error("not installed: %s\n", path);
            fail();
        }
    }
    /* pkg-config gives flags that build a program using only emb.h */
    char *flags = run("PKG_CONFIG_SYSROOT_DIR=%s PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
                      "pkg-config --cflags --libs emb", stage, stage);
    assert_non_null(strstr(flags, "-lemb"));
    flags[strcspn(flags, "\n")] = '\0';
    free(run("cc -std=c99 -Wall -Werror -o %s/hello examples/hello.c %s", tmp, flags));
    free(flags);
    char *out = run("LD_LIBRARY_PATH=%s/usr/lib %s/hello %s/usr/share/emb/wordnet-mini.h5", stage,
                    tmp, stage);
    assert_non_null(strstr(out, "violin"));
    free(out);
    /* the installed CLI finds the installed default model by itself: the real
     * one if installed, else the demo, saying so (run() captures stderr) */
    out = run("env -u EMB_MODEL LD_LIBRARY_PATH=%s/usr/lib %s/usr/bin/emb info", stage, stage);
    snprintf(path, sizeof path, "/usr/share/emb/%s\"",
             have_real ? "all-MiniLM-L6-v2.h5" : "wordnet-mini.h5");
    char *path_at = strstr(out, path);
    char *notice_at = strstr(out, "emb: using the demo model wordnet-mini (");
    if (!path_at || (have_real ? notice_at != NULL : notice_at == NULL)) {
        print_error("emb info (real model installed: %d) printed:\n%s\n", have_real, out);
        fail();
    }
    free(out);
    free(run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u OUT -u SANITIZE make -s uninstall PREFIX=/usr DESTDIR=%s", stage));
    for (size_t i = 0; i < sizeof files / sizeof *files + 1; i++) {
        /* the listed files, then the real model */
        const char *file = i < sizeof files / sizeof *files ? files[i] : real;
        snprintf(path, sizeof path, "%s/%s", stage, file);
        if (exists(path)) {
            print_error("left after uninstall: %s\n", path);
            fail();
        }
    }
    tu_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soname_and_exports),
        cmocka_unit_test(test_header_c99_and_cxx),
        cmocka_unit_test(test_staged_install),
    };
    return cmocka_run_group_tests_name("install", tests, NULL, NULL);
}
