/* Balancers (smooth weighted round robin, LEAST-CONN, CONSISTENT-HASH
 * remapping bounds), health-aware picking, passive/active health rules,
 * status lists, and the DNS wire format. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include <cmocka.h>

#include "config/fields.h"
#include "config/load.h"
#include "upstream/balancer.h"
#include "upstream/dns.h"
#include "upstream/health.h"

static char text[16384];

/* An upstream with nodes 127.0.0.1:port for each weight (port from base). */
static sy_config *cfg_with(const char *id, const char *algo, const int *weights, size_t n, int base)
{
    int o = snprintf(text, sizeof text,
                     "Upstreams:\n  - UpstreamId: %s\n    Algorithm: %s\n    Nodes:\n", id, algo);
    for (size_t i = 0; i < n; i++)
        o += snprintf(text + o, sizeof text - (size_t)o,
                      "      - {Host: 127.0.0.1, Port: %d, Weight: %d}\n", base + (int)i,
                      weights[i]);
    sy_errors e = {0};
    sy_config *cfg = sy_config_load_string(text, strlen(text), "t.yaml", &e);
    for (size_t i = 0; i < e.n; i++)
        print_message("%s\n", e.msgs[i]);
    assert_non_null(cfg);
    sy_errors_free(&e);
    return cfg;
}

static void test_swrr_exact_and_interleaved(void **state)
{
    int w[] = {5, 1, 1};
    sy_config *cfg = cfg_with("u-rr", "ROUND-ROBIN", w, 3, 20000);
    sy_balancer *b = sy_balancer_new(&cfg->upstreams[0], 2);
    const sy_target_set *s = sy_balancer_targets(b);
    assert_int_equal(s->n, 3);
    int seq[7], count[3] = {0};
    for (int i = 0; i < 7; i++) {
        seq[i] = sy_balancer_pick(b, s, 0, false, 0, 0, 1000);
        count[seq[i]]++;
    }
    assert_int_equal(count[0], 5);
    assert_int_equal(count[1], 1);
    assert_int_equal(count[2], 1);
    /* nginx's sequence for 5,1,1: a a b a c a a */
    int want[7] = {0, 0, 1, 0, 2, 0, 0};
    assert_memory_equal(seq, want, sizeof want);
    /* Exclusion (tried nodes) and a second worker slot with its own state. */
    assert_int_equal(sy_balancer_pick(b, s, 1, false, 0, 1, 1000), 1);
    assert_int_equal(sy_balancer_pick(b, s, 1, false, 0, 7, 1000), -1);
    sy_balancer_free(b);
    sy_config_free(cfg);
}

static void test_weight_zero_and_ejected_skipped(void **state)
{
    int w[] = {0, 10, 10};
    sy_config *cfg = cfg_with("u-ej", "ROUND-ROBIN", w, 3, 20100);
    sy_upstream_cfg *u = &cfg->upstreams[0];
    u->health.enable_passive = true;
    u->health.tcp_failure_threshold = 2;
    u->health.unhealthy_timeout_ms = 500;
    const char *why;
    sy_status_set_parse("200-399", &u->health.healthy, &why);
    sy_status_set_parse("500-599", &u->health.unhealthy, &why);
    sy_balancer *b = sy_balancer_new(u, 1);
    const sy_target_set *s = sy_balancer_targets(b);
    for (int i = 0; i < 10; i++)
        assert_int_not_equal(sy_balancer_pick(b, s, 0, false, 0, 0, 1000), 0);
    sy_node_state *st = s->t[1].st;
    sy_node_passive(st, &u->health, SY_OUT_TCP, 0, 1000);
    assert_true(sy_node_usable(st, 1000)); /* 1 < threshold */
    sy_node_passive(st, &u->health, SY_OUT_TCP, 0, 1000);
    assert_false(sy_node_usable(st, 1000)); /* ejected */
    for (int i = 0; i < 10; i++)
        assert_int_equal(sy_balancer_pick(b, s, 0, false, 0, 0, 1200), 2);
    assert_true(sy_node_usable(st, 1500)); /* UnhealthyTimeout passed */
    assert_int_equal(atomic_load(&st->tcp_fails), 0);
    /* A healthy status resets the consecutive count. */
    sy_node_passive(st, &u->health, SY_OUT_TCP, 0, 2000);
    sy_node_passive(st, &u->health, SY_OUT_STATUS, 200, 2000);
    sy_node_passive(st, &u->health, SY_OUT_TCP, 0, 2000);
    assert_true(sy_node_usable(st, 2000));
    /* Everything out: -1 (the proxy answers 503). */
    sy_node_passive(s->t[2].st, &u->health, SY_OUT_TCP, 0, 2000);
    sy_node_passive(s->t[2].st, &u->health, SY_OUT_TCP, 0, 2000);
    sy_node_passive(st, &u->health, SY_OUT_TCP, 0, 2000);
    assert_int_equal(sy_balancer_pick(b, s, 0, false, 0, 0, 2001), -1);
    sy_balancer_free(b);
    sy_config_free(cfg);
}

static void test_http_threshold_zero_is_off_and_active_recovery(void **state)
{
    int w[] = {10};
    sy_config *cfg = cfg_with("u-http", "ROUND-ROBIN", w, 1, 20200);
    sy_upstream_cfg *u = &cfg->upstreams[0];
    const char *why;
    u->health.enable_passive = true;
    u->health.enable_active = true;
    u->health.http_failure_threshold = 0;
    u->health.unhealthy_timeout_ms = 0;
    assert_true(sy_status_set_parse("200,204", &u->health.healthy, &why));
    assert_true(sy_status_set_parse("500-504", &u->health.unhealthy, &why));
    sy_balancer *b = sy_balancer_new(u, 1);
    sy_node_state *st = sy_balancer_targets(b)->t[0].st;
    for (int i = 0; i < 50; i++)
        sy_node_passive(st, &u->health, SY_OUT_STATUS, 503, 10);
    assert_true(sy_node_usable(st, 10)); /* 0 = never ejects */
    u->health.http_failure_threshold = 2;
    atomic_store(&st->http_fails, 0);
    sy_node_passive(st, &u->health, SY_OUT_STATUS, 505, 10); /* not in the list */
    sy_node_passive(st, &u->health, SY_OUT_STATUS, 500, 10);
    assert_true(sy_node_usable(st, 10));
    sy_node_passive(st, &u->health, SY_OUT_STATUS, 500, 10);
    assert_false(sy_node_usable(st, 10));
    assert_false(sy_node_usable(st, 1000000000)); /* UnhealthyTimeout 0: until a probe */
    sy_node_probe(st, &u->health, SY_OUT_STATUS, 204, 20);
    assert_true(sy_node_usable(st, 20));
    sy_node_probe(st, &u->health, SY_OUT_STATUS, 500, 30);
    sy_node_probe(st, &u->health, SY_OUT_STATUS, 500, 30);
    assert_false(sy_node_usable(st, 30));
    sy_balancer_free(b);
    sy_config_free(cfg);
}

static void test_status_lists(void **state)
{
    sy_status_set s;
    const char *why;
    assert_true(sy_status_set_parse("200,204", &s, &why));
    assert_true(sy_status_in(&s, 200) && sy_status_in(&s, 204));
    assert_false(sy_status_in(&s, 201) || sy_status_in(&s, 99) || sy_status_in(&s, 600));
    assert_true(sy_status_set_parse("500-599, 429", &s, &why));
    assert_true(sy_status_in(&s, 500) && sy_status_in(&s, 599) && sy_status_in(&s, 429));
    assert_false(sy_status_in(&s, 499));
    const char *bad[] = {"", "99", "600", "500-400", "2OO", "200,", "-", "1-2-3", NULL};
    for (int i = 0; bad[i]; i++) {
        if (sy_status_set_parse(bad[i], &s, &why))
            fail_msg("accepted %s", bad[i]);
    }
}

static void test_least_conn(void **state)
{
    int w[] = {10, 10, 20};
    sy_config *cfg = cfg_with("u-lc", "LEAST-CONN", w, 3, 20300);
    sy_balancer *b = sy_balancer_new(&cfg->upstreams[0], 1);
    const sy_target_set *s = sy_balancer_targets(b);
    atomic_store(&s->t[0].st->active, 3);
    atomic_store(&s->t[1].st->active, 1);
    atomic_store(&s->t[2].st->active, 4); /* 4/20 < 1/10? no: 0.2 > 0.1 */
    assert_int_equal(sy_balancer_pick(b, s, 0, false, 0, 0, 1), 1);
    atomic_store(&s->t[2].st->active, 1); /* 1/20 is the least */
    assert_int_equal(sy_balancer_pick(b, s, 0, false, 0, 0, 1), 2);
    /* Ties share by weight (round robin among the tied). */
    for (int i = 0; i < 3; i++)
        atomic_store(&s->t[i].st->active, 0);
    int count[3] = {0};
    for (int i = 0; i < 400; i++)
        count[sy_balancer_pick(b, s, 0, false, 0, 0, 1)]++;
    assert_int_equal(count[0], 100);
    assert_int_equal(count[1], 100);
    assert_int_equal(count[2], 200);
    assert_int_equal(sy_balancer_pick(b, s, 0, false, 0, 4, 1) == 2, 0);
    sy_balancer_free(b);
    sy_config_free(cfg);
}

static void test_consistent_hash_remap_bounds(void **state)
{
    enum { KEYS = 20000 };
    int w[] = {10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10};
    sy_config *c10 = cfg_with("u-ch", "CONSISTENT-HASH", w, 10, 20400);
    sy_config *c11 = cfg_with("u-ch", "CONSISTENT-HASH", w, 11, 20400);
    sy_balancer *b10 = sy_balancer_new(&c10->upstreams[0], 1);
    sy_balancer *b11 = sy_balancer_new(&c11->upstreams[0], 1);
    const sy_target_set *s10 = sy_balancer_targets(b10), *s11 = sy_balancer_targets(b11);
    static int before[KEYS];
    int count[10] = {0}, moved = 0;
    for (int k = 0; k < KEYS; k++) {
        uint64_t h = XXH3_64bits(&k, sizeof k);
        before[k] = sy_balancer_pick(b10, s10, 0, true, h, 0, 1);
        count[before[k]]++;
        assert_int_equal(sy_balancer_pick(b10, s10, 0, true, h, 0, 1), before[k]); /* sticky */
        int after = sy_balancer_pick(b11, s11, 0, true, h, 0, 1);
        if (after != before[k]) {
            moved++;
            assert_int_equal(after, 10); /* only to the new node */
        }
    }
    /* Even spread (±15% of the fair share) and ~1/11 of the keys moved. */
    for (int i = 0; i < 10; i++)
        assert_true(abs(count[i] - KEYS / 10) < KEYS / 10 * 15 / 100);
    assert_true(moved > KEYS / 11 * 8 / 10 && moved < KEYS / 11 * 12 / 10);
    /* Removing (ejecting) a node moves only its keys; a tried node is
     * skipped for the retry. */
    for (int k = 0; k < 2000; k++) {
        uint64_t h = XXH3_64bits(&k, sizeof k);
        int alt = sy_balancer_pick(b10, s10, 0, true, h, 1ull << 3, 1);
        if (before[k] != 3)
            assert_int_equal(alt, before[k]);
        else
            assert_int_not_equal(alt, 3);
    }
    /* Weights: a node of weight 30 among 10s gets ~3x the keys. */
    int w2[] = {30, 10, 10};
    sy_config *cw = cfg_with("u-chw", "CONSISTENT-HASH", w2, 3, 20500);
    sy_balancer *bw = sy_balancer_new(&cw->upstreams[0], 1);
    int cc[3] = {0};
    for (int k = 0; k < KEYS; k++) {
        uint64_t h = XXH3_64bits(&k, sizeof k);
        cc[sy_balancer_pick(bw, sy_balancer_targets(bw), 0, true, h, 0, 1)]++;
    }
    assert_true(fabs((double)cc[0] / KEYS - 0.6) < 0.03);
    sy_balancer_free(bw);
    sy_config_free(cw);
    sy_balancer_free(b10);
    sy_balancer_free(b11);
    sy_config_free(c10);
    sy_config_free(c11);
}

static void test_dns_targets_from_cache(void **state)
{
    snprintf(text, sizeof text,
             "Upstreams:\n  - UpstreamId: u-dns\n    Nodes:\n"
             "      - {Host: pods.example.test, Port: 8080, Weight: 7}\n"
             "      - {Host: 127.0.0.1, Port: 9000, Weight: 3}\n");
    sy_errors e = {0};
    sy_config *cfg = sy_config_load_string(text, strlen(text), "t.yaml", &e);
    assert_non_null(cfg);
    sy_balancer *b = sy_balancer_new(&cfg->upstreams[0], 1);
    assert_int_equal(sy_balancer_targets(b)->n, 1); /* name not resolved yet */
    sy_dns_want("pods.example.test");
    sy_dns_addr a[2] = {{AF_INET, {10, 0, 0, 2}}, {AF_INET, {10, 0, 0, 1}}};
    assert_true(sy_dns_store("pods.example.test", a, 2, 5, 100));
    assert_false(sy_dns_store("pods.example.test", a, 2, 5, 100)); /* same set */
    const sy_target_set *old = sy_balancer_targets(b);
    assert_true(sy_balancer_refresh(b));
    const sy_target_set *s = sy_balancer_targets(b);
    assert_ptr_not_equal(s, old);
    assert_int_equal(s->n, 3);
    assert_string_equal(s->t[0].st->addr, "10.0.0.1:8080");
    assert_int_equal(s->t[0].weight, 7);
    assert_string_equal(s->t[0].ep.host, "pods.example.test");
    assert_false(sy_balancer_refresh(b)); /* unchanged: no new set */
    /* A failure keeps the last good addresses. */
    sy_dns_failed("pods.example.test", "test", 200);
    sy_balancer_refresh(b);
    assert_int_equal(sy_balancer_targets(b)->n, 3);
    sy_balancer_free(b);
    sy_config_free(cfg);
    sy_errors_free(&e);
}

static void test_dns_wire(void **state)
{
    unsigned char q[512];
    size_t n = sy_dns_encode_query(0x1234, "svc.test.", 1, q, sizeof q);
    assert_int_equal(n, 12 + 10 + 4);
    assert_memory_equal(q + 12, "\3svc\4test\0", 10);
    unsigned char junk[512];
    assert_int_equal(sy_dns_encode_query(1, "a..b", 1, junk, sizeof junk), 0);
    /* A response: the question, a CNAME, an A (ttl 30) and an AAAA (ttl 10),
     * names compressed. */
    unsigned char r[512];
    memcpy(r, q, n);
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 3; /* ANCOUNT */
    size_t o = n;
    const unsigned char cname[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'x', 0xc0, 12};
    memcpy(r + o, cname, sizeof cname);
    o += sizeof cname;
    const unsigned char arec[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 1, 2, 3};
    memcpy(r + o, arec, sizeof arec);
    o += sizeof arec;
    unsigned char aaaa[28] = {0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 10, 0, 16, 0x20, 0x01, 0x0d, 0xb8};
    aaaa[27] = 1;
    memcpy(r + o, aaaa, sizeof aaaa);
    o += sizeof aaaa;
    sy_dns_addr addrs[4];
    size_t na = 0;
    uint32_t ttl = UINT32_MAX;
    assert_int_equal(sy_dns_parse_response(r, o, 0x1234, addrs, &na, 4, &ttl), 0);
    assert_int_equal(na, 2);
    assert_int_equal(ttl, 10);
    assert_int_equal(addrs[0].family, AF_INET);
    assert_memory_equal(addrs[0].a, "\12\1\2\3", 4);
    assert_int_equal(addrs[1].family, AF_INET6);
    /* Wrong id, truncation at every length, a label overrun: refused. */
    na = 0;
    assert_int_equal(sy_dns_parse_response(r, o, 0x9999, addrs, &na, 4, &ttl), -1);
    for (size_t cut = 0; cut < o; cut++) {
        na = 0;
        int rc = sy_dns_parse_response(r, cut, 0x1234, addrs, &na, 4, &ttl);
        assert_true(rc == -1 || na <= 2);
    }
    r[n] = 0x3f; /* a label running past the end (pointers are never followed) */
    na = 0;
    assert_int_equal(sy_dns_parse_response(r, o, 0x1234, addrs, &na, 4, &ttl), -1);
    /* NXDOMAIN comes back as rcode 3. */
    r[3] = 0x83;
    r[7] = 0;
    na = 0;
    assert_int_equal(sy_dns_parse_response(r, n, 0x1234, addrs, &na, 4, &ttl), 3);
}

static void test_upstream_config_errors(void **state)
{
    static const struct {
        const char *yaml, *msg;
    } cases[] = {
        {"Upstreams:\n  - {UpstreamId: u, Algorithm: CONSISTENT-HASH, HashKey: body.x}\n",
         "t.yaml:2:58: Upstreams[0].HashKey: must be client_ip, header.NAME, cookie.NAME or "
         "query.NAME"},
        {"Upstreams:\n  - {UpstreamId: u, HashKey: client_ip}\n",
         "t.yaml:2:30: Upstreams[0].HashKey: only applies to Algorithm CONSISTENT-HASH"},
        {"Upstreams:\n  - {UpstreamId: u, CaFile: /x}\n",
         "t.yaml:2:5: Upstreams[0]: CaFile and TlsVerify need Scheme HTTPS"},
        {"Upstreams:\n  - {UpstreamId: u, Scheme: HTTPS, TlsVerify: 1}\n",
         "t.yaml:2:47: Upstreams[0].TlsVerify: must be a boolean (true or false), got a number"},
        {"Gateway:\n  Resolvers: [dns.example]\n",
         "t.yaml:2:15: Gateway.Resolvers[0]: host must be an IP address or localhost"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sy_errors e = {0};
        sy_config *cfg = sy_config_load_string(cases[i].yaml, strlen(cases[i].yaml), "t.yaml", &e);
        bool found = false;
        for (size_t k = 0; k < e.n; k++) {
            found |= strcmp(e.msgs[k], cases[i].msg) == 0;
            if (strcmp(e.msgs[k], cases[i].msg) != 0)
                print_message("  reported: %s\n", e.msgs[k]);
        }
        if (!found)
            print_message("expected: %s\n", cases[i].msg);
        assert_null(cfg);
        assert_true(found);
        sy_errors_free(&e);
    }
    const char *ok =
        "Gateway:\n  Resolvers: ['127.0.0.1:5353', '::1', '10.0.0.2']\n"
        "Upstreams:\n  - {UpstreamId: u, Algorithm: CONSISTENT-HASH, HashKey: cookie.sid}\n";
    sy_errors e = {0};
    sy_config *cfg = sy_config_load_string(ok, strlen(ok), "t.yaml", &e);
    assert_non_null(cfg);
    assert_int_equal(cfg->gw.n_resolvers, 3);
    assert_int_equal(cfg->gw.resolvers[0].port, 5353);
    assert_int_equal(cfg->gw.resolvers[1].port, 53);
    assert_int_equal(cfg->upstreams[0].hash_on, SY_HASH_COOKIE);
    assert_string_equal(cfg->upstreams[0].hash_name, "sid");
    sy_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swrr_exact_and_interleaved),
        cmocka_unit_test(test_weight_zero_and_ejected_skipped),
        cmocka_unit_test(test_http_threshold_zero_is_off_and_active_recovery),
        cmocka_unit_test(test_status_lists),
        cmocka_unit_test(test_least_conn),
        cmocka_unit_test(test_consistent_hash_remap_bounds),
        cmocka_unit_test(test_dns_targets_from_cache),
        cmocka_unit_test(test_dns_wire),
        cmocka_unit_test(test_upstream_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
