/* Shared helpers for the config unit tests (included, not a test binary). */
#ifndef SY_TEST_CONFIG_TEST_H
#define SY_TEST_CONFIG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/load.h"

static inline sy_config *load_text(const char *text, sy_errors *e)
{
    return sy_config_load_string(text, strlen(text), "t.yaml", e);
}

/* Print what was reported so a failing assertion shows the real list. */
static inline void show_errors(const sy_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        print_message("  reported: %s\n", e->msgs[i]);
}

static inline bool has_error(const sy_errors *e, const char *msg)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->msgs[i], msg) == 0)
            return true;
    return false;
}

/* Loading `text` fails and reports `msg` among its errors. */
static inline void expect_error(const char *text, const char *msg)
{
    sy_errors e = {0};
    sy_config *cfg = load_text(text, &e);
    if (cfg || !has_error(&e, msg)) {
        print_message("expected: %s\n", msg);
        show_errors(&e);
    }
    assert_null(cfg);
    assert_true(has_error(&e, msg));
    sy_errors_free(&e);
}

/* Loading `text` succeeds with no error. */
static inline sy_config *expect_ok(const char *text)
{
    sy_errors e = {0};
    sy_config *cfg = load_text(text, &e);
    show_errors(&e);
    assert_non_null(cfg);
    assert_int_equal(e.n, 0);
    sy_errors_free(&e);
    return cfg;
}

#endif
