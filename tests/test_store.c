/* test_store.c: the program store: disk cache hits through the counters, damaged and foreign
 * entries rebuilt and overwritten, an unwritable folder, two processes filling one cache, bundles
 * (a missing variant, binary-only contexts that never build, stale and foreign bundles, sources
 * for an offline compiler), the entry parser on every truncation and byte flip, and the plan
 * introspection `lrncl explain` prints.
 *
 * CTest runs this suite with POCL_KERNEL_CACHE=0, so a load that skipped the build is lrncl's own
 * cache at work, not PoCL's. Every test makes its own cache folder under $LRNCL_CACHE_DIR (the
 * build tree), never under $HOME. */
#define _GNU_SOURCE /* memmem */
#include "testutil.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* host/disk_cache.c, internal: the entry parser (a pure function, also fuzzed). */
int lrncl__store_parse_entry(const void *data, size_t size, const char **key, size_t *key_len,
                             const unsigned char **bin, size_t *bin_len);

/* ---- helpers ------------------------------------------------------------------------------ */

/* A fresh folder under $LRNCL_CACHE_DIR (CTest points it into the build tree), else /tmp. */
static void fresh_dir(char *buf, size_t size, const char *what) {
    const char *base = getenv("LRNCL_CACHE_DIR");
    if (!base || !*base || strcmp(base, "off") == 0)
        base = "/tmp";
    cr_assert(mkdir(base, 0777) == 0 || access(base, W_OK) == 0, "cannot use %s", base);
    snprintf(buf, size, "%s/%s-XXXXXX", base, what);
    cr_assert(mkdtemp(buf) != NULL, "mkdtemp %s failed", buf);
}

static lrncl_desc across(void) {
    return tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_ACROSS_CHANNELS, 5, 1.5f, 0.75f, 2.0f, 2, 9, 5, 7);
}

static lrncl_desc within(void) {
    return tu_desc(LRNCL_CONVENTION_CAFFE, LRNCL_WITHIN_CHANNEL, 3, 1.0f, 0.75f, 1.0f, 1, 3, 6, 5);
}

/* y of a forward run with a scale buffer, fresh random x (seed fixed so runs compare). */
static float *forward_y(lrncl_plan *p, const lrncl_desc *d) {
    size_t count = lrncl_desc_elements(d);
    float *x = tu_floats(count);
    struct tu_rng g;
    tu_rng_init(&g, 0x5eedu);
    for (size_t i = 0; i < count; i++)
        x[i] = (float)(3.0 * tu_rng_normal(&g));
    struct tu_device_result r;
    const char *what = "";
    lrncl_status st = tu_run_plan(p, count, x, NULL, &r, &what);
    cr_assert(st == LRNCL_SUCCESS, "%s -> %s: %s", what, lrncl_status_string(st), lrncl_last_error());
    float *y = tu_floats(count);
    memcpy(y, r.y, count * sizeof *y);
    tu_device_result_free(&r);
    free(x);
    return y;
}

/* The forward output of d through a new context on cache_dir, and that context's counts. */
struct outcome {
    float *y;
    size_t built, disk, bundle, memory;
    lrncl_program_origin origin;
};

static struct outcome run_on(const char *cache_dir, const lrncl_desc *d) {
    struct outcome o;
    lrncl_context *c = tu_context_with_cache(cache_dir);
    lrncl_plan *p = tu_plan(c, d);
    lrncl_program_info info;
    cr_assert(lrncl_plan_program_info(p, 0, &info) == LRNCL_SUCCESS);
    o.origin = info.origin;
    o.y = forward_y(p, d);
    o.built = lrncl_context_program_count(c, LRNCL_PROGRAM_BUILT);
    o.disk = lrncl_context_program_count(c, LRNCL_PROGRAM_DISK_CACHE);
    o.bundle = lrncl_context_program_count(c, LRNCL_PROGRAM_BUNDLE);
    o.memory = lrncl_context_program_count(c, LRNCL_PROGRAM_MEMORY);
    cr_assert(lrncl_context_program_builds(c) == o.built, "lrncl_context_program_builds disagrees");
    lrncl_plan_release(p);
    lrncl_context_release(c); /* writes the cache entries */
    return o;
}

/* Files in dir whose names end with suffix; the last one's path in path (if any). */
static int count_files(const char *dir, const char *suffix, char *path, size_t size) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    size_t sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0 && e->d_name[0] != '.') {
            n++;
            if (path)
                snprintf(path, size, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return n;
}

/* Temporary files (".tmp-XXXXXX") left in dir. */
static int count_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strncmp(e->d_name, ".tmp-", 5) == 0;
    if (d)
        closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = tu_alloc((size_t)n + 1);
    cr_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

static void spill(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL, "cannot write %s", path);
    cr_assert(fwrite(b, 1, n, f) == n);
    fclose(f);
}

static void expect_same_bits(const float *a, const float *b, size_t n, const char *what) {
    cr_expect(memcmp(a, b, n * sizeof *a) == 0, "%s: outputs differ bitwise", what);
}

/* ---- the disk cache ----------------------------------------------------------------------- */
TestSuite(store, .init = tu_setup, .fini = tu_teardown, .timeout = 240);

Test(store, second_context_loads_from_disk_and_computes_the_same_bits) {
    char dir[512], entry[1024];
    fresh_dir(dir, sizeof dir, "hit");
    lrncl_desc d = across();
    size_t n = lrncl_desc_elements(&d);
    struct outcome first = run_on(dir, &d);
    cr_expect(first.built == 1 && first.disk == 0, "first context: built %zu, disk %zu", first.built, first.disk);
    cr_expect(first.origin == LRNCL_PROGRAM_BUILT);
    cr_assert(count_files(dir, ".lrnclbin", entry, sizeof entry) == 1, "no single cache entry in %s", dir);

    struct outcome second = run_on(dir, &d);
    cr_expect(second.built == 0 && second.disk == 1, "second context: built %zu, disk %zu (a cache miss)",
              second.built, second.disk);
    cr_expect(second.origin == LRNCL_PROGRAM_DISK_CACHE, "origin %s", lrncl_program_origin_string(second.origin));
    expect_same_bits(first.y, second.y, n, "built vs loaded");
    cr_expect(count_files(dir, ".lrnclbin", NULL, 0) == 1, "the hit wrote another entry");
    free(first.y);
    free(second.y);
}

Test(store, a_second_plan_finds_the_program_in_memory) {
    char dir[512];
    fresh_dir(dir, sizeof dir, "memory");
    lrncl_context *c = tu_context_with_cache(dir);
    lrncl_desc d = across();
    lrncl_plan *p1 = tu_plan(c, &d), *p2 = tu_plan(c, &d);
    lrncl_program_info i1, i2;
    cr_assert(lrncl_plan_program_info(p1, 0, &i1) == LRNCL_SUCCESS);
    cr_assert(lrncl_plan_program_info(p2, 0, &i2) == LRNCL_SUCCESS);
    cr_expect(i1.origin == LRNCL_PROGRAM_BUILT && i2.origin == LRNCL_PROGRAM_MEMORY, "origins %s, %s",
              lrncl_program_origin_string(i1.origin), lrncl_program_origin_string(i2.origin));
    cr_expect(lrncl_context_program_count(c, LRNCL_PROGRAM_MEMORY) == 1);
    const char *prefix = strcmp(lrncl_plan_device_class(p1), "fpga") == 0 ? "fpga-across-lo2-hi2-" : "across-lo2-hi2-";
    cr_expect(strcmp(i1.variant, i2.variant) == 0 && strncmp(i1.variant, prefix, strlen(prefix)) == 0, "variant %s",
              i1.variant);
    cr_expect(strstr(i1.options, "-DLRN_WIN_LO=2") != NULL, "options %s", i1.options);
    cr_expect(lrncl_context_program_count(c, (lrncl_program_origin)7) == 0);
    lrncl_plan_release(p2);
    lrncl_plan_release(p1);
    lrncl_context_release(c);
}

/* Damages the one entry of dir in one of three ways. */
enum damage { FLIP_BYTE, TRUNCATE, FOREIGN_KEY };

static void damage_entry(const char *path, enum damage how) {
    size_t n;
    unsigned char *b = slurp(path, &n);
    cr_assert(n > 64);
    if (how == FLIP_BYTE) {
        b[n / 2] ^= 0x40;
    } else if (how == TRUNCATE) {
        n = n * 2 / 3;
    } else {
        /* a well-formed entry with a valid crc but another key: e.g. another device's */
        uint32_t klen = (uint32_t)(b[8] | b[9] << 8 | b[10] << 16 | (uint32_t)b[11] << 24);
        unsigned char *key = b + 24;
        unsigned char *dev = memmem(key, klen, "device\t", 7);
        cr_assert(dev != NULL, "no device line in the key");
        dev[7] ^= 0x20;
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, b + 24, (uInt)(n - 24));
        for (int i = 0; i < 4; i++)
            b[20 + i] = (unsigned char)(crc >> (8 * i));
    }
    spill(path, b, n);
    free(b);
}

static void damaged_entry_is_rebuilt(enum damage how, const char *what) {
    char dir[512], entry[1024];
    fresh_dir(dir, sizeof dir, what);
    lrncl_desc d = across();
    size_t n = lrncl_desc_elements(&d);
    struct outcome first = run_on(dir, &d);
    cr_assert(count_files(dir, ".lrnclbin", entry, sizeof entry) == 1);
    damage_entry(entry, how);

    struct outcome second = run_on(dir, &d);
    cr_expect(second.built == 1 && second.disk == 0, "%s entry: built %zu, disk %zu (must be rebuilt, never used)",
              what, second.built, second.disk);
    expect_same_bits(first.y, second.y, n, what);
    /* rebuilt and overwritten: the next context loads it */
    struct outcome third = run_on(dir, &d);
    cr_expect(third.built == 0 && third.disk == 1, "%s entry was not overwritten: built %zu, disk %zu", what,
              third.built, third.disk);
    cr_expect(count_files(dir, ".lrnclbin", NULL, 0) == 1);
    free(first.y);
    free(second.y);
    free(third.y);
}

Test(store, a_corrupted_entry_is_rebuilt_and_overwritten) { damaged_entry_is_rebuilt(FLIP_BYTE, "corrupt"); }
Test(store, a_truncated_entry_is_rebuilt_and_overwritten) { damaged_entry_is_rebuilt(TRUNCATE, "truncated"); }
Test(store, a_foreign_entry_is_rebuilt_and_overwritten) { damaged_entry_is_rebuilt(FOREIGN_KEY, "foreign"); }

Test(store, an_unwritable_folder_only_means_no_caching, .init = tu_setup) {
    cr_redirect_stdout();
    cr_redirect_stderr();
    char dir[512], below_file[600], file[560];
    fresh_dir(dir, sizeof dir, "unwritable");
    snprintf(file, sizeof file, "%s/a-file", dir);
    spill(file, "x", 1);
    snprintf(below_file, sizeof below_file, "%s/cache", file); /* a folder under a file: never creatable */
    lrncl_desc d = across();
    size_t n = lrncl_desc_elements(&d);
    struct outcome a = run_on(below_file, &d);
    cr_expect(strcmp(lrncl_last_error(), "") == 0, "an error was recorded: %s", lrncl_last_error());
    struct outcome b = run_on(below_file, &d);
    cr_expect(a.built == 1 && b.built == 1 && b.disk == 0, "built %zu then %zu, disk %zu", a.built, b.built, b.disk);
    expect_same_bits(a.y, b.y, n, "unwritable folder");
    struct outcome off = run_on("off", &d);
    cr_expect(off.built == 1 && off.disk == 0);
    cr_expect(count_files(dir, "", NULL, 0) == 1, "files appeared in %s", dir);
    fflush(stdout);
    fflush(stderr);
    cr_expect_stdout_eq_str("", "the library printed to stdout");
    cr_expect_stderr_eq_str("", "the library printed to stderr");
    free(a.y);
    free(b.y);
    free(off.y);
}

/* ---- two processes ------------------------------------------------------------------------ */
/* No fixture: the children must not inherit a parent's OpenCL state (PoCL's threads do not
 * survive fork), so each process makes its own context after the fork. */
static int child_fill(const char *dir, int gate) {
    char go;
    if (read(gate, &go, 1) < 0) /* both start together: the parent closes the pipe */
        return 2;
    setenv("LRNCL_CACHE_DIR", dir, 1);
    /* PoCL's own folder, one per process: with POCL_KERNEL_CACHE=0, PoCL 3.1 processes that
     * share one unpack binaries into temporary folders there, and one aborted when another's
     * vanished ("Can't get stat() on .../_UNCACHED_..."). */
    char pocl[600];
    snprintf(pocl, sizeof pocl, "%s/pocl-%d", dir, (int)getpid());
    if (mkdir(pocl, 0777) != 0)
        return 3;
    setenv("POCL_CACHE_DIR", pocl, 1);
    lrncl_context *c = NULL;
    lrncl_plan *p = NULL;
    lrncl_desc d = across();
    int ok = lrncl_context_create_default(&c) == LRNCL_SUCCESS && lrncl_plan_create(c, &d, &p) == LRNCL_SUCCESS &&
             lrncl_context_program_count(c, LRNCL_PROGRAM_BUILT) + lrncl_context_program_count(c, LRNCL_PROGRAM_DISK_CACHE) == 1;
    lrncl_plan_release(p);
    lrncl_context_release(c);
    return ok ? 0 : 1;
}

Test(store_processes, two_processes_fill_one_cache_at_once, .timeout = 240) {
    char dir[512];
    fresh_dir(dir, sizeof dir, "shared");
    for (int round = 0; round < 2; round++) {
        int gate[2];
        cr_assert(pipe(gate) == 0);
        pid_t kids[2];
        for (int i = 0; i < 2; i++) {
            kids[i] = fork();
            cr_assert(kids[i] >= 0, "fork failed");
            if (kids[i] == 0) {
                close(gate[1]);
                _exit(child_fill(dir, gate[0]));
            }
        }
        close(gate[0]);
        close(gate[1]);
        for (int i = 0; i < 2; i++) {
            int status = 0;
            cr_assert(waitpid(kids[i], &status, 0) == kids[i]);
            cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: child %d failed (status %d)", round,
                      i, status);
        }
        cr_expect(count_files(dir, ".lrnclbin", NULL, 0) == 1, "round %d: %d entries", round,
                  count_files(dir, ".lrnclbin", NULL, 0));
        cr_expect(count_temporaries(dir) == 0, "round %d: temporary files left behind", round);
    }
    /* the entry the two left is whole: this process loads it */
    tu_setup();
    lrncl_desc d = across();
    struct outcome o = run_on(dir, &d);
    cr_expect(o.built == 0 && o.disk == 1, "after the two processes: built %zu, disk %zu", o.built, o.disk);
    free(o.y);
    tu_teardown();
}

/* ---- bundles ------------------------------------------------------------------------------ */

static lrncl_context *bundle_context(const char *bundle) {
    lrncl_context *c = NULL;
    lrncl_status st = lrncl_context_create_from_bundle(tu.cl, tu.dev, bundle, &c);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_context_create_from_bundle -> %s: %s", lrncl_status_string(st),
              lrncl_last_error());
    return c;
}

/* A bundle in a fresh folder with the programs of d, made by an ordinary context. */
static void make_bundle(char *dir, size_t size, const lrncl_desc *d, lrncl_bundle_content what) {
    char cache[512];
    fresh_dir(dir, size, "bundle");
    fresh_dir(cache, sizeof cache, "bundle-cache");
    lrncl_context *c = tu_context_with_cache(cache);
    lrncl_status st = lrncl_bundle_add(c, d, dir, what);
    cr_assert(st == LRNCL_SUCCESS, "lrncl_bundle_add -> %s: %s", lrncl_status_string(st), lrncl_last_error());
    lrncl_context_release(c);
}

Test(store, a_bundle_missing_a_variant_names_it_and_the_command) {
    char bundle[512], cache[512];
    lrncl_desc a = across(), w = within();
    make_bundle(bundle, sizeof bundle, &a, LRNCL_BUNDLE_BINARIES);
    /* a disk cache that holds the within variant: a binary-only context must not use it */
    fresh_dir(cache, sizeof cache, "cache");
    struct outcome filled = run_on(cache, &w);
    free(filled.y);
    setenv("LRNCL_CACHE_DIR", cache, 1);

    lrncl_context *c = bundle_context(bundle);
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(c, &w, &p);
    cr_expect(st == LRNCL_ERROR_MISSING_BINARY, "plan of a variant the bundle lacks -> %d (%s)", (int)st,
              lrncl_status_string(st));
    cr_expect(p == NULL);
    const char *msg = lrncl_last_error();
    cr_expect(strstr(msg, "within-lo1-hi1-") != NULL, "the message does not name the variant: %s", msg);
    cr_expect(strstr(msg, "lrncl compile --mode within --size 3") != NULL && strstr(msg, "--shape 1x3x6x5") &&
                  strstr(msg, bundle), "the message does not give the command: %s", msg);
    cr_expect(strcmp(lrncl_status_string(LRNCL_ERROR_MISSING_BINARY), "unknown status") != 0);
    cr_expect(lrncl_context_program_builds(c) == 0 && lrncl_context_program_count(c, LRNCL_PROGRAM_DISK_CACHE) == 0,
              "a binary-only context built or read the disk cache");
    lrncl_context_release(c);
}

Test(store, a_binary_only_context_never_builds_and_gives_the_same_bits) {
    char bundle[512], cache[512];
    lrncl_desc a = across();
    size_t n = lrncl_desc_elements(&a);
    make_bundle(bundle, sizeof bundle, &a, LRNCL_BUNDLE_BINARIES);
    fresh_dir(cache, sizeof cache, "source");
    struct outcome source = run_on("off", &a);
    cr_assert(source.built == 1);

    lrncl_context *c = bundle_context(bundle);
    for (int i = 0; i < 3; i++) {
        lrncl_desc d = a;
        d.alpha = a.alpha + (float)i; /* same variant: alpha is a kernel argument */
        lrncl_plan *p = tu_plan(c, &d);
        lrncl_program_info info;
        cr_assert(lrncl_plan_program_info(p, 0, &info) == LRNCL_SUCCESS);
        cr_expect(info.origin == (i ? LRNCL_PROGRAM_MEMORY : LRNCL_PROGRAM_BUNDLE), "plan %d: origin %s", i,
                  lrncl_program_origin_string(info.origin));
        if (i == 0) {
            float *y = forward_y(p, &d);
            expect_same_bits(source.y, y, n, "bundle vs source build");
            free(y);
        }
        lrncl_plan_release(p);
    }
    cr_expect(lrncl_context_program_builds(c) == 0, "a binary-only context built %zu programs",
              lrncl_context_program_builds(c));
    cr_expect(lrncl_context_program_count(c, LRNCL_PROGRAM_BUNDLE) == 1);
    lrncl_context_release(c);
    free(source.y);
}

Test(store, an_ordinary_context_prefers_its_bundle_and_builds_what_it_lacks) {
    char bundle[512], cache[512];
    lrncl_desc a = across(), w = within();
    make_bundle(bundle, sizeof bundle, &a, LRNCL_BUNDLE_BINARIES);
    fresh_dir(cache, sizeof cache, "prefer");
    lrncl_context *c = tu_context_with_cache(cache);
    cr_assert(lrncl_context_set_bundle(c, bundle) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    lrncl_plan *pa = tu_plan(c, &a), *pw = tu_plan(c, &w);
    cr_expect(lrncl_context_program_count(c, LRNCL_PROGRAM_BUNDLE) == 1 && lrncl_context_program_builds(c) == 1,
              "bundle %zu, built %zu", lrncl_context_program_count(c, LRNCL_PROGRAM_BUNDLE),
              lrncl_context_program_builds(c));
    lrncl_plan_release(pw);
    lrncl_plan_release(pa);
    lrncl_context_release(c);
}

/* Replaces the first occurrence of from in path's text by to. */
static void edit_file(const char *path, const char *from, const char *to) {
    size_t n;
    char *t = (char *)slurp(path, &n);
    t[n] = '\0';
    char *at = strstr(t, from);
    cr_assert(at != NULL, "%s not in %s", from, path);
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL);
    fwrite(t, 1, (size_t)(at - t), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
    free(t);
}

Test(store, stale_and_foreign_bundles_are_refused) {
    char bundle[512], manifest[600];
    lrncl_desc a = across();
    make_bundle(bundle, sizeof bundle, &a, LRNCL_BUNDLE_BINARIES);
    snprintf(manifest, sizeof manifest, "%s/manifest.txt", bundle);

    /* the variant's line records a source hash that is not the library's: stale, so missing */
    size_t n;
    char *text = (char *)slurp(manifest, &n);
    text[n] = '\0';
    char *line = strstr(text, "\nprogram\t"); /* the one variant's line (fpga- first for the FPGA kernels) */
    cr_assert(line != NULL && strstr(line, "across-lo2-hi2-") != NULL, "no program line: %s", text);
    char *crc = strchr(line + 9, '\t') + 1;
    crc[0] = crc[0] == '0' ? '1' : '0';
    spill(manifest, text, n);
    lrncl_context *c = bundle_context(bundle);
    lrncl_plan *p = NULL;
    lrncl_status st = lrncl_plan_create(c, &a, &p);
    cr_expect(st == LRNCL_ERROR_MISSING_BINARY, "a stale binary was used (%s)", lrncl_status_string(st));
    lrncl_plan_release(p);
    lrncl_context_release(c);
    free(text);

    /* a manifest naming another device */
    edit_file(manifest, "\ndevice\t", "\ndevice\tnot ");
    c = NULL;
    st = lrncl_context_create_from_bundle(tu.cl, tu.dev, bundle, &c);
    cr_expect(st == LRNCL_ERROR_INVALID_DEVICE && c == NULL, "a foreign bundle -> %s", lrncl_status_string(st));
    cr_expect(strstr(lrncl_last_error(), "\"not ") != NULL, "message: %s", lrncl_last_error());
}

Test(store, sources_for_an_offline_compiler_match_the_manifest) {
    char bundle[512], path[700];
    lrncl_desc w = within();
    make_bundle(bundle, sizeof bundle, &w, LRNCL_BUNDLE_SOURCES);
    cr_expect(count_files(bundle, ".bin", NULL, 0) == 0, "--emit-source built binaries");
    cr_assert(count_files(bundle, ".cl", path, sizeof path) == 1);
    size_t n;
    unsigned char *src = slurp(path, &n);
    cr_expect(n > 1000 && memmem(src, n, "within_fwd", 10) != NULL /* lrn_within_fwd, lrn_fpga_within_fwd */, "%s is not the kernel source", path);
    free(src);
    cr_assert(count_files(bundle, ".options", path, sizeof path) == 1);
    char *opts = (char *)slurp(path, &n);
    opts[n] = '\0';
    char *nl = strchr(opts, '\n');
    cr_assert(nl != NULL);
    *nl = '\0';
    snprintf(path, sizeof path, "%s/manifest.txt", bundle);
    char *manifest = (char *)slurp(path, &n);
    manifest[n] = '\0';
    cr_expect(strstr(manifest, opts) != NULL && strstr(opts, "-DLRN_WITHIN=1"), "options %s not in the manifest", opts);
    free(manifest);
    free(opts);

    /* adding another problem keeps what the bundle holds */
    lrncl_desc a = across();
    lrncl_context *c = tu_context_with_cache("off");
    cr_assert(lrncl_bundle_add(c, &a, bundle, LRNCL_BUNDLE_SOURCES) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    lrncl_context_release(c);
    cr_expect(count_files(bundle, ".cl", NULL, 0) == 2);
    manifest = (char *)slurp(path, &n);
    manifest[n] = '\0';
    cr_expect(strstr(manifest, "within-lo1-hi1-") && strstr(manifest, "across-lo2-hi2-"), "manifest: %s", manifest);
    free(manifest);
}

/* ---- the entry parser --------------------------------------------------------------------- */

static unsigned char *make_entry(const char *key, const unsigned char *bin, size_t blen, size_t *n) {
    size_t klen = strlen(key);
    *n = 24 + klen + blen;
    unsigned char *e = tu_alloc(*n);
    memcpy(e, "LRNCLPB1", 8);
    for (int i = 0; i < 4; i++)
        e[8 + i] = (unsigned char)(klen >> (8 * i));
    for (int i = 0; i < 8; i++)
        e[12 + i] = (unsigned char)((uint64_t)blen >> (8 * i));
    memcpy(e + 24, key, klen);
    memcpy(e + 24 + klen, bin, blen);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), e + 24, (uInt)(klen + blen));
    for (int i = 0; i < 4; i++)
        e[20 + i] = (unsigned char)(crc >> (8 * i));
    return e;
}

Test(store_entry, only_whole_unchanged_entries_parse) {
    const unsigned char bin[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    size_t n;
    unsigned char *e = make_entry("lrncl\t0.1.0\ndevice\tx\n", bin, sizeof bin, &n);
    const char *key;
    const unsigned char *b;
    size_t klen, blen;
    cr_assert(lrncl__store_parse_entry(e, n, &key, &klen, &b, &blen) == 0, "a well-formed entry was refused");
    cr_expect(klen == 21 && memcmp(key, "lrncl\t0.1.0\n", 12) == 0 && blen == sizeof bin && memcmp(b, bin, blen) == 0);
    for (size_t len = 0; len < n; len++)
        cr_expect(lrncl__store_parse_entry(e, len, &key, &klen, &b, &blen) != 0, "truncated to %zu parsed", len);
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            e[i] ^= (unsigned char)(1u << bit);
            cr_expect(lrncl__store_parse_entry(e, n, &key, &klen, &b, &blen) != 0, "byte %zu bit %d flipped parsed",
                      i, bit);
            e[i] ^= (unsigned char)(1u << bit);
        }
    unsigned char *longer = tu_alloc(n + 1);
    memcpy(longer, e, n);
    longer[n] = 0;
    cr_expect(lrncl__store_parse_entry(longer, n + 1, &key, &klen, &b, &blen) != 0, "a trailing byte parsed");
    cr_expect(lrncl__store_parse_entry(NULL, 0, &key, &klen, &b, &blen) != 0);
    free(longer);
    free(e);
}

/* ---- plan introspection ------------------------------------------------------------------- */

Test(store, kernel_info_reports_the_launch_and_follows_the_tuning) {
    lrncl_desc a = across();
    lrncl_plan *p = tu_plan(tu.ctx, &a);
    lrncl_kernel_info k;
    if (strcmp(lrncl_plan_device_class(p), "fpga") == 0) {
        /* The FPGA kernels (the class lrncl chose for this device): one work-item each, the
         * whole axis, under any tuning they accept. */
        for (int kind = 0; kind < 3; kind++) {
            cr_assert(lrncl_plan_kernel_info(p, (lrncl_kernel_kind)kind, 0, &k) == LRNCL_SUCCESS, "%s",
                      lrncl_last_error());
            cr_expect(k.global[0] == 1 && k.global[1] == 1 && k.local[0] == 1 && k.local[1] == 1 && k.slide_block == 9,
                      "kind %d: global %zux%zu local %zux%zu block %zu", kind, k.global[0], k.global[1], k.local[0],
                      k.local[1], k.slide_block);
            cr_expect(strcmp(k.name, kind == LRNCL_KERNEL_BACKWARD ? "lrn_fpga_across_bwd" : "lrn_fpga_across_fwd") == 0,
                      "%s", k.name);
        }
        lrncl_tuning t = {1, 9};
        cr_assert(lrncl_plan_set_tuning(p, LRNCL_KERNEL_BACKWARD, &t) == LRNCL_SUCCESS, "%s", lrncl_last_error());
        cr_assert(lrncl_plan_kernel_info(p, LRNCL_KERNEL_BACKWARD, 0, &k) == LRNCL_SUCCESS);
        cr_expect(k.source == LRNCL_TUNING_USER && k.slide_block == 9 && k.global[0] == 1);
        cr_expect(lrncl_plan_kernel_info(p, LRNCL_KERNEL_FORWARD, 1, &k) == LRNCL_SUCCESS && k.slide_block == 9);
        cr_expect(lrncl_plan_kernel_info(p, LRNCL_KERNEL_BACKWARD, 1, &k) == LRNCL_ERROR_UNSUPPORTED);
        lrncl_plan_release(p);
        return;
    }
    for (int kind = 0; kind < 3; kind++) {
        cr_assert(lrncl_plan_kernel_info(p, (lrncl_kernel_kind)kind, 0, &k) == LRNCL_SUCCESS, "%s", lrncl_last_error());
        lrncl_tuning t;
        cr_assert(lrncl_plan_get_tuning(p, (lrncl_kernel_kind)kind, &t) == LRNCL_SUCCESS);
        cr_expect(k.local[0] == t.local_size && k.local[1] == 1 && k.global[0] % k.local[0] == 0 &&
                      k.global[0] >= 5 * 7 / 8, "kind %d: global %zu local %zu", kind, k.global[0], k.local[0]);
        cr_expect(k.slide_block >= 1 && k.slide_block <= 9 && k.global[1] == 2 * ((9 + k.slide_block - 1) / k.slide_block),
                  "kind %d: block %zu, global[1] %zu", kind, k.slide_block, k.global[1]);
        cr_expect(strcmp(k.name, kind == LRNCL_KERNEL_BACKWARD ? "lrn_across_bwd" : "lrn_across_fwd") == 0, "%s", k.name);
        cr_expect(k.source == lrncl_plan_tuning_source(p, (lrncl_kernel_kind)kind));
    }
    lrncl_tuning t = {16, 3};
    cr_assert(lrncl_plan_set_tuning(p, LRNCL_KERNEL_BACKWARD, &t) == LRNCL_SUCCESS, "%s", lrncl_last_error());
    cr_assert(lrncl_plan_kernel_info(p, LRNCL_KERNEL_BACKWARD, 0, &k) == LRNCL_SUCCESS);
    cr_expect(k.local[0] == 16 && k.slide_block == 3 && k.global[1] == 2 * 3 && k.source == LRNCL_TUNING_USER,
              "after set_tuning: local %zu block %zu global[1] %zu", k.local[0], k.slide_block, k.global[1]);
    cr_expect(lrncl_plan_kernel_info(p, LRNCL_KERNEL_FORWARD, 1, &k) == LRNCL_SUCCESS && k.slide_block == 9,
              "in-place forward walks whole columns");
    cr_expect(lrncl_plan_kernel_info(p, LRNCL_KERNEL_BACKWARD, 1, &k) == LRNCL_ERROR_UNSUPPORTED);
    cr_expect(lrncl_plan_kernel_info(p, (lrncl_kernel_kind)3, 0, &k) == LRNCL_ERROR_UNSUPPORTED);
    cr_expect(lrncl_plan_kernel_info(NULL, LRNCL_KERNEL_FORWARD, 0, &k) == LRNCL_ERROR_NULL_ARGUMENT);
    lrncl_program_info info;
    cr_expect(lrncl_plan_program_count(p) >= 1);
    cr_expect(lrncl_plan_program_info(p, lrncl_plan_program_count(p), &info) == LRNCL_ERROR_UNSUPPORTED);
    cr_expect(strcmp(lrncl_plan_device_class(p), "cpu") == 0 || strcmp(lrncl_plan_device_class(p), "gpu") == 0);
    lrncl_plan_release(p);

    lrncl_desc w = within();
    p = tu_plan(tu.ctx, &w);
    cr_expect(lrncl_plan_kernel_info(p, LRNCL_KERNEL_FORWARD, 1, &k) == LRNCL_ERROR_UNSUPPORTED,
              "within has no in-place forward");
    lrncl_plan_release(p);
}
