/* libFuzzer target for the condition language.
 *
 * Bytes -> NUL-terminated string -> sy_expr_compile; when it compiles,
 * evaluate against a fixed request and check three invariants that the
 * rest of the gateway relies on:
 *   - explain returns what eval returns (same walker, same short-circuit),
 *   - the explain buffer stays NUL-terminated inside its bounds,
 *   - a one-policy table (index or scan) agrees with eval.
 *
 * Build (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     fuzz/fuzz_expr.c src/router/expr_*.c src/router/reqview.c \
 *     src/core/arena.c src/core/str.c src/config/errors.c \
 *     src/router/policy.c -lpcre2-8 -lxxhash -o build/fuzz_expr
 *   build/fuzz_expr fuzz/corpus/expr */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/policy.h"
#include "router/expr.h"

static const sy_header headers[] = {
    {SY_STR_LIT("Host"), SY_STR_LIT("api.example.com")},
    {SY_STR_LIT("User-Agent"), SY_STR_LIT("Mozilla/5.0 (iPhone)")},
    {SY_STR_LIT("X-Tenant"), SY_STR_LIT("t00042")},
    {SY_STR_LIT("id"), SY_STR_LIT("1098")},
    {SY_STR_LIT("Cookie"), SY_STR_LIT("session=abc; beta=\"1\"; x")},
    {SY_STR_LIT("X-Real-IP"), SY_STR_LIT("::ffff:10.1.2.3")},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = '\0';

    sy_arena a, scratch;
    sy_arena_init(&a, 4096);
    sy_arena_init(&scratch, 1024);
    double forced = 0.25;
    sy_req_view rv = {
        .method = SY_STR_LIT("POST"),
        .path = SY_STR_LIT("/v2/orders/17"),
        .query = SY_STR_LIT("age=29&need_verify=false&name=col%6Fur&q=a+b&dup=1&dup=2&flag"),
        .host = SY_STR_LIT("api.example.com"),
        .scheme = SY_STR_LIT("https"),
        .headers = headers,
        .n_headers = sizeof(headers) / sizeof(headers[0]),
        .client_ip = SY_STR_LIT("203.0.113.7"),
        .scratch = &scratch,
        .force_random = &forced,
    };

    char err[256];
    int col;
    sy_expr *e = sy_expr_compile(&a, src, err, sizeof(err), &col);
    if (!e) {
        if (col < 1 || (size_t)col > size + 1 || !err[0])
            abort(); /* every error names a column inside the input and a reason */
    } else {
        bool r = sy_expr_eval(e, &rv);
        char buf[512];
        buf[0] = '\0';
        if (sy_expr_explain(e, &rv, buf, sizeof(buf)) != r)
            abort();
        if (strlen(buf) >= sizeof(buf))
            abort();
        sy_expr_free(e);

        sy_policy_cfg pol = {.name = "fuzz", .condition = src};
        sy_plugin_cfg plugin = {.id = "fuzz", .policies = &pol, .n_policies = 1};
        sy_errors errs = {0};
        sy_policy_table *t = sy_policy_table_build(&a, &plugin, "fuzz", &errs);
        if (!t || (sy_policy_table_match(t, &rv) != NULL) != r)
            abort();
        sy_policy_table_free(t);
        sy_errors_free(&errs);
    }
    sy_arena_free(&scratch);
    sy_arena_free(&a);
    free(src);
    return 0;
}
