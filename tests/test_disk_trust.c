/* test_disk_trust.c: what the library trusts on disk, through its API: the manifest checker (a
 * pure function, also fuzzed) on a table of good and damaged manifests, the binding of a binary's
 * checksum to its variant, the disk cache's status (on, or off and why: a folder of another user
 * or writable by others), a binary-only context over a truncated or swapped binary (a clean
 * LRNCL_ERROR_MISSING_BINARY naming the command, never a crash), an ordinary context that builds
 * instead, and bundle folders writable by others refused. tests/cli_disk_trust.sh has the rest
 * (FIFOs, links, concurrent compiles) through the lrncl command. */
#include "testutil.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* host/bundle.c, internal (declared in host/internal.h). */
int lrncl__manifest_check(const char *text, size_t size, char *why, size_t why_size);
unsigned long lrncl__binary_sum(const char *name, unsigned long source_crc, const void *bin, size_t size);

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmp_root[256];

static void make_root(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/lrncl-trust-XXXXXX");
    cr_assert(mkdtemp(tmp_root) != NULL);
}

static void remove_root(void) {
    char cmd[320];
    if (tmp_root[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
        cr_assert(system(cmd) == 0);
    }
}

static void setup(void) {
    tu_setup();
    make_root();
}

static void teardown(void) {
    remove_root();
    tu_teardown();
}

static lrncl_desc across(void) {
    return tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 1.5f, 0.75f, 2.0f, 2, 9, 5, 7);
}

/* A bundle of d's programs in tmp_root/bundle; the path of its one binary into bin. */
static void make_bundle(const lrncl_desc *d, char *bundle, size_t bsize, char *bin, size_t binsize) {
    snprintf(bundle, bsize, "%s/bundle", tmp_root);
    lrncl_context *c = tu_context_with_cache("off");
    lrncl_status st = lrncl_bundle_add(c, d, bundle, LRNCL_BUNDLE_BINARIES);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_bundle_add -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    lrncl_context_release(c);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s/*.bin", bundle);
    FILE *p = popen(cmd, "r");
    cr_assert(p && fgets(bin, (int)binsize, p), "no binary in %s", bundle);
    pclose(p);
    bin[strcspn(bin, "\n")] = '\0';
}

static void truncate_file(const char *path, long size) { cr_assert(truncate(path, size) == 0, "truncate %s", path); }

/* ---- the manifest checker ------------------------------------------------------------------ */

#define HEAD "# comment\nformat\t2\nlrncl\t0.1.0\ndevice\tdev\n"
#define LINE(name) "program\t" name "\t0a1b2c3d\t1234\t89abcdef\t-cl-std=CL1.2 -DX=1\n"

static const struct manifest_case {
    const char *name, *text;
    size_t size;        /* 0: strlen(text) */
    int expect;         /* 0 good, 1 older format, -1 damaged */
    const char *why;    /* part of the reason, for damaged ones */
} manifest_cases[] = {
    {"good", HEAD LINE("across-lo2-hi2-b075-reg-f32-nchw-vw8-col"), 0, 0, NULL},
    {"good_two_variants", HEAD LINE("a") LINE("b"), 0, 0, NULL},
    {"good_sources_only", HEAD "program\tv\t0a1b2c3d\t-\t-\t-DX=1\n", 0, 0, NULL},
    {"crlf", "format\t2\r\ndevice\tdev\r\n" "program\tv\t0a1b2c3d\t1\t00000000\t-DX\r\n", 0, 0, NULL},
    {"no_final_newline", HEAD "program\tv\t0a1b2c3d\t1\t00000000\t-DX", 0, 0, NULL},
    {"older_format", "# old\nlrncl\t0.1.0\ndevice\tdev\nprogram\tv\t0a1b2c3d\t-DX=1\n", 0, 1, NULL},
    {"nul_byte", HEAD "x\0y\n", sizeof(HEAD "x\0y\n") - 1, -1, "NUL"},
    {"bad_line", HEAD "garbage\n", 0, -1, "line 5"},
    {"unknown_format", "format\t3\ndevice\tdev\n", 0, -1, "format 3"},
    {"two_formats", "format\t2\nformat\t2\ndevice\tdev\n", 0, -1, "second format"},
    {"no_device", "format\t2\n", 0, -1, "no device"},
    {"two_lines_one_variant", HEAD LINE("v") LINE("w") LINE("v"), 0, -1, "two program lines"},
    {"five_fields", HEAD "program\tv\t0a1b2c3d\t1234\t89abcdef\n", 0, -1, "six"},
    {"path_in_name", HEAD LINE("../../etc/x"), 0, -1, "variant name"},
    {"dot_name", HEAD LINE(".hidden"), 0, -1, "variant name"},
    {"upper_hex", HEAD "program\tv\t0A1B2C3D\t1\t00000000\t-DX\n", 0, -1, "crc32"},
    {"half_recorded", HEAD "program\tv\t0a1b2c3d\t-\t00000000\t-DX\n", 0, -1, "size and checksum"},
    {"size_not_decimal", HEAD "program\tv\t0a1b2c3d\t12x\t00000000\t-DX\n", 0, -1, "size and checksum"},
    {"tab_in_options", HEAD "program\tv\t0a1b2c3d\t1\t00000000\t-DX\t-DY\n", 0, -1, "six"},
};

Test(disk_trust_pure, manifests_are_checked_line_by_line) {
    for (size_t i = 0; i < sizeof manifest_cases / sizeof manifest_cases[0]; i++) {
        const struct manifest_case *m = &manifest_cases[i];
        char why[256] = "";
        size_t size = m->size ? m->size : strlen(m->text);
        int got = lrncl__manifest_check(m->text, size, why, sizeof why);
        cr_expect(got == m->expect, "%s: %d, expected %d (%s)", m->name, got, m->expect, why);
        if (m->why)
            cr_expect(strstr(why, m->why) != NULL, "%s: the reason \"%s\" does not say \"%s\"", m->name, why, m->why);
    }
}

Test(disk_trust_pure, a_binary_checksum_is_bound_to_its_variant) {
    static const unsigned char bin[] = {1, 2, 3, 4, 5, 6, 7, 8};
    unsigned long a = lrncl__binary_sum("across-lo2-hi2-b075-reg-f32-nchw-vw8-col", 0x1234, bin, sizeof bin);
    cr_expect(a != lrncl__binary_sum("across-lo2-hi2-b075-reg-f16-nchw-vw8-col", 0x1234, bin, sizeof bin),
              "the same bytes under another variant's name have the same checksum");
    cr_expect(a != lrncl__binary_sum("across-lo2-hi2-b075-reg-f32-nchw-vw8-col", 0x1235, bin, sizeof bin),
              "the same bytes for another source have the same checksum");
}

/* ---- the disk cache's folder ----------------------------------------------------------------- */

TestSuite(disk_trust, .init = setup, .fini = teardown, .timeout = 300);

static void expect_status(const char *dir, const char *prefix, const char *part) {
    lrncl_context *c = tu_context_with_cache(dir);
    const char *s = lrncl_context_cache_status(c);
    cr_expect(strncmp(s, prefix, strlen(prefix)) == 0 && (!part || strstr(s, part)),
              "cache %s: status \"%s\", expected \"%s...%s\"", dir, s, prefix, part ? part : "");
    lrncl_context_release(c);
}

Test(disk_trust, the_cache_status_says_whether_and_why) {
    char dir[320];
    expect_status("off", "off: LRNCL_CACHE_DIR is off", NULL);
    snprintf(dir, sizeof dir, "%s/private", tmp_root);
    char on[340];
    snprintf(on, sizeof on, "on: %s", dir);
    expect_status(dir, on, NULL);
    struct stat st;
    cr_assert(stat(dir, &st) == 0);
    cr_expect((st.st_mode & 07777) == 0700, "the cache folder was made with mode %04o", st.st_mode & 07777);
    snprintf(dir, sizeof dir, "%s/shared", tmp_root);
    cr_assert(mkdir(dir, 0777) == 0 && chmod(dir, 01777) == 0);
    expect_status(dir, "off: ", "writable by others (mode 1777)");
    cr_expect(strcmp(lrncl_context_cache_status(NULL), "off: no context") == 0);
}

Test(disk_trust, a_cache_folder_of_another_user_is_not_used) {
    if (geteuid() != 0) {
        cr_log_warn("skipped: not root, so no folder of another user can be made (chown to uid 4242)");
        cr_skip_test("not root");
    }
    char dir[320];
    snprintf(dir, sizeof dir, "%s/theirs", tmp_root);
    cr_assert(mkdir(dir, 0755) == 0 && chown(dir, 4242, 4242) == 0);
    expect_status(dir, "off: ", "owned by uid 4242");
}

/* ---- bundles ---------------------------------------------------------------------------------- */

static lrncl_status bundle_only_plan(const char *bundle, const lrncl_desc *d) {
    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create_from_bundle(tu.cl, tu.dev, bundle, &c);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_context_create_from_bundle -> %s: %s", lrncl_status_string(st),
              lrncl_last_error());
    lrncl_plan *p = NULL;
    st = lrncl_plan_create(c, d, &p);
    lrncl_plan_release(p);
    lrncl_context_release(c);
    return st;
}

Test(disk_trust, a_truncated_binary_is_a_clean_error_and_an_ordinary_context_builds) {
    char bundle[320], bin[512];
    lrncl_desc d = across();
    make_bundle(&d, bundle, sizeof bundle, bin, sizeof bin);
    struct stat st;
    cr_assert(stat(bin, &st) == 0);
    truncate_file(bin, st.st_size / 2);
    lrncl_status s = bundle_only_plan(bundle, &d);
    cr_expect(s == LRNCL_ERROR_MISSING_BINARY, "-> %s: %s", lrncl_status_string(s), lrncl_last_error());
    cr_expect(strstr(lrncl_last_error(), "but manifest.txt records") && strstr(lrncl_last_error(), "lrncl compile"),
              "the message: %s", lrncl_last_error());
    /* an ordinary context with the bundle: built from source, and right */
    lrncl_context *c = tu_context_with_cache("off");
    cr_assert(lrncl_context_set_bundle(c, bundle) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    lrncl_plan *p = tu_plan(c, &d);
    cr_expect(lrncl_context_program_count(c, LRNCL_PROGRAM_BUILT) == 1, "the damaged binary was not replaced by a build");
    size_t count = lrncl_desc_elements(&d);
    float *x = tu_floats(count);
    for (size_t i = 0; i < count; i++)
        x[i] = (float)((int)(i % 17) - 8) * 0.25f;
    struct tu_device_result r;
    const char *what = "";
    s = tu_run_plan(p, count, x, NULL, &r, &what);
    cr_assert(s == LRNCL_SUCCESS, "%s -> %s", what, lrncl_status_string(s));
    double *ref = tu_doubles(count);
    cr_assert(tu_reference(&d, x, NULL, ref, NULL, NULL) == LRNCL_SUCCESS);
    for (size_t i = 0; i < count; i++)
        cr_assert(fabs(r.y[i] - ref[i]) <= 1e-5 * (1 + fabs(ref[i])), "y[%zu] = %g, reference %g", i, r.y[i], ref[i]);
    tu_device_result_free(&r);
    free(ref);
    free(x);
    lrncl_plan_release(p);
    lrncl_context_release(c);
}

Test(disk_trust, bundles_writable_by_others_are_refused) {
    char bundle[320], bin[512];
    lrncl_desc d = across();
    make_bundle(&d, bundle, sizeof bundle, bin, sizeof bin);
    cr_assert(chmod(bundle, 0777) == 0);
    lrncl_context *c = NULL;
    lrncl_status s = lrncl_context_create_from_bundle(tu.cl, tu.dev, bundle, &c);
    cr_expect(s == LRNCL_ERROR_UNSUPPORTED && strstr(lrncl_last_error(), "writable by group or others"),
              "a mode 0777 bundle folder -> %s: %s", lrncl_status_string(s), lrncl_last_error());
    cr_expect(c == NULL);
    cr_assert(chmod(bundle, 0755) == 0 && chmod(bin, 0666) == 0);
    s = bundle_only_plan(bundle, &d);
    cr_expect(s == LRNCL_ERROR_MISSING_BINARY && strstr(lrncl_last_error(), "writable by group or others"),
              "a mode 0666 binary -> %s: %s", lrncl_status_string(s), lrncl_last_error());
}
