// kvdemo in C: a kvhost guest built with wit-bindgen c, clang and wasi-libc,
// then made a component by wasm-tools with the WASI preview1 adapter.
//
// It exports wasi:cli/run itself (world kvhost:store/command) and is built as
// a reactor: in a wasi-libc command every export, cabi_realloc included, runs
// the C destructors when it returns, which flush stdio from inside a host
// call, and wasmtime rightly traps on that.
//
//   kvdemo-c [demo]     self-check of the default store (get, set with TTL,
//                       delete, exists, clear, list-keys); exits 1 on failure
//   kvdemo-c bench N    N gets of one key, timed inside the guest; prints
//                       "bench get N gets, ns per get: NS"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen/command.h"

typedef kvhost_store_store_borrow_bucket_t bucket_t;
typedef kvhost_store_store_error_t error_t;

static int passed = 0;

static void check(const char *what, bool ok) {
    if (!ok) {
        fprintf(stderr, "kvdemo-c: FAILED: %s\n", what);
        exit(1);
    }
    passed++;
    printf("  ok  %s\n", what);
}

// A store error is a value: report it by name and stop.
static void fail_with(const char *op, error_t *err) {
    static const char *names[] = {"no-such-store", "access-denied", "store-full", "invalid-argument",
                                  "too-large", "conflict", "unavailable", "other"};
    fprintf(stderr, "kvdemo-c: FAILED: %s: %s\n", op, err->tag < 8 ? names[err->tag] : "unknown error");
    kvhost_store_store_error_free(err);
    exit(1);
}

// Borrowed views of C strings: the host copies what it needs.
static command_string_t str(const char *s) { return (command_string_t){(uint8_t *)s, strlen(s)}; }
static command_list_u8_t data(const char *s) { return (command_list_u8_t){(uint8_t *)s, strlen(s)}; }

static void set(bucket_t b, const char *key, const char *value, uint64_t *ttl_ms) {
    command_string_t k = str(key);
    command_list_u8_t v = data(value);
    error_t err;
    if (!kvhost_store_store_method_bucket_set(b, &k, &v, ttl_ms, &err)) fail_with("set", &err);
}

// Whether `key` holds exactly `want` (NULL: whether it is absent).
static bool holds(bucket_t b, const char *key, const char *want) {
    command_string_t k = str(key);
    command_option_list_u8_t got;
    error_t err;
    if (!kvhost_store_store_method_bucket_get(b, &k, &got, &err)) fail_with("get", &err);
    bool same = want == NULL ? !got.is_some
                             : got.is_some && got.val.len == strlen(want) && memcmp(got.val.ptr, want, got.val.len) == 0;
    if (got.is_some) command_list_u8_free(&got.val);
    return same;
}

static bool exists(bucket_t b, const char *key) {
    command_string_t k = str(key);
    bool ret;
    error_t err;
    if (!kvhost_store_store_method_bucket_exists(b, &k, &ret, &err)) fail_with("exists", &err);
    return ret;
}

static bool delete(bucket_t b, const char *key) {
    command_string_t k = str(key);
    bool ret;
    error_t err;
    if (!kvhost_store_store_method_bucket_delete(b, &k, &ret, &err)) fail_with("delete", &err);
    return ret;
}

static void clear(bucket_t b) {
    error_t err;
    if (!kvhost_store_store_method_bucket_clear(b, &err)) fail_with("clear", &err);
}

// Every key under `prefix`, `page` at a time, joined with commas into `out`.
static void list_all(bucket_t b, const char *prefix, uint32_t page, char *out, size_t cap) {
    command_string_t p = str(prefix);
    command_string_t cursor = {0};
    bool more = false;
    out[0] = '\0';
    do {
        kvhost_store_store_key_page_t result;
        error_t err;
        if (!kvhost_store_store_method_bucket_list_keys(b, &p, more ? &cursor : NULL, page, &result, &err))
            fail_with("list-keys", &err);
        for (size_t i = 0; i < result.keys.len; i++) {
            size_t used = strlen(out);
            snprintf(out + used, cap - used, "%s%.*s", used ? "," : "", (int)result.keys.ptr[i].len,
                     (const char *)result.keys.ptr[i].ptr);
        }
        if (more) command_string_free(&cursor);
        more = result.cursor.is_some;
        if (more) {
            cursor = result.cursor.val;
            result.cursor.is_some = false;  // now ours to free
        }
        kvhost_store_store_key_page_free(&result);
    } while (more);
}

static void demo(bucket_t b) {
    kvhost_store_store_info_t info;
    kvhost_store_store_method_bucket_info(b, &info);
    printf("kvdemo-c: store %.*s on %.*s backend\n", (int)info.id.len, (const char *)info.id.ptr,
           (int)info.backend.len, (const char *)info.backend.ptr);
    kvhost_store_store_info_free(&info);

    clear(b);
    check("get of a missing key is none", holds(b, "greeting", NULL));
    set(b, "greeting", "hello", NULL);
    check("set then get returns the value", holds(b, "greeting", "hello"));
    check("exists after set", exists(b, "greeting"));
    uint64_t minute = 60000;
    set(b, "session", "token", &minute);
    check("an entry with a 60s TTL is visible", holds(b, "session", "token"));
    check("delete of a present key returns true", delete(b, "greeting"));
    check("delete of an absent key returns false", !delete(b, "greeting"));
    check("a deleted key does not exist", !exists(b, "greeting"));
    char key[16], listed[256];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "user:%02d", i);
        set(b, key, "u", NULL);
    }
    list_all(b, "user:", 2, listed, sizeof listed);
    check("list-keys pages through a prefix in order", strcmp(listed, "user:00,user:01,user:02,user:03,user:04") == 0);
    command_string_t empty = str("");
    command_option_list_u8_t got;
    error_t err;
    bool ok = kvhost_store_store_method_bucket_get(b, &empty, &got, &err);
    check("an empty key is invalid-argument", !ok && err.tag == KVHOST_STORE_TYPES_ERROR_INVALID_ARGUMENT);
    kvhost_store_store_error_free(&err);
    clear(b);
    list_all(b, "", 0, listed, sizeof listed);
    check("clear removes every entry", !exists(b, "session") && listed[0] == '\0');
    printf("kvdemo-c: all %d checks passed\n", passed);
}

static void bench(bucket_t b, long n) {
    static const char value[101] = {0};
    command_string_t k = str("bench-key-0000ab");
    command_list_u8_t v = {(uint8_t *)value, 100};
    error_t err;
    if (!kvhost_store_store_method_bucket_set(b, &k, &v, NULL, &err)) fail_with("set", &err);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < n; i++) {
        command_option_list_u8_t got;
        if (!kvhost_store_store_method_bucket_get(b, &k, &got, &err)) fail_with("get", &err);
        if (got.is_some) command_list_u8_free(&got.val);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    // The figure stays the last word: kvhost-bench and scripts read it.
    printf("bench get %ld gets, ns per get: %.1f\n", n, ns / (n > 0 ? n : 1));
}

// A command line kvdemo-c does not understand: the reason and the usage.
static bool usage(const char *why, const char *arg) {
    fprintf(stderr, "kvdemo-c: %s%s\nusage: kvdemo-c [demo] | bench N\n", why, arg ? arg : "");
    return false;
}

// The N of `bench N`: a whole number, 0 or more; -1 if `arg` is not one.
static long count(const char *arg) {
    if (arg == NULL || *arg == '\0') return -1;
    long n = 0;
    for (const char *c = arg; *c; c++) {
        if (*c < '0' || *c > '9' || n > 100000000L) return -1;  // long is 32 bits on wasm32
        n = n * 10 + (*c - '0');
    }
    return n;
}

static bool run(int argc, char **argv) {
    command_string_t id = str("");
    kvhost_store_store_own_bucket_t own;
    error_t err;
    if (!kvhost_store_store_open(&id, &own, &err)) fail_with("open(\"\")", &err);
    bucket_t b = kvhost_store_store_borrow_bucket(own);
    bool ok = true;
    if (argc < 2 || strcmp(argv[1], "demo") == 0) {
        demo(b);
    } else if (strcmp(argv[1], "bench") == 0) {
        long n = count(argc > 2 ? argv[2] : NULL);
        if (argc < 3) ok = usage("bench needs a number N", NULL);
        else if (n < 0) ok = usage("N must be a whole number, got ", argv[2]);
        else bench(b, n);
    } else {
        ok = usage("unknown command ", argv[1]);
    }
    kvhost_store_store_bucket_drop_own(own);
    return ok;
}

// wasi:cli/run: the arguments come from wasi:cli/environment.
bool exports_wasi_cli_run_run(void) {
    command_list_string_t args;
    wasi_cli_environment_get_arguments(&args);
    char **argv = calloc(args.len + 1, sizeof *argv);
    for (size_t i = 0; i < args.len; i++) argv[i] = strndup((const char *)args.ptr[i].ptr, args.ptr[i].len);
    command_list_string_free(&args);
    bool ok = run((int)args.len, argv);
    fflush(stdout);
    fflush(stderr);
    return ok;
}
