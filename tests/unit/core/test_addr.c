/* Socket addresses as text (core/addr.c): IPv4 and IPv6 with ports, an
 * IPv4-mapped IPv6 client shown as IPv4, unknown families. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "core/addr.h"

static struct sockaddr_storage v4(const char *ip, unsigned port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, unsigned port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    return ss;
}

static void test_text_with_port(void **state)
{
    (void)state;
    char buf[64];
    struct sockaddr_storage a = v4("203.0.113.7", 8080);
    sy_addr_text((struct sockaddr *)&a, buf, sizeof buf);
    assert_string_equal(buf, "203.0.113.7:8080");
    a = v6("2001:db8::1", 443);
    sy_addr_text((struct sockaddr *)&a, buf, sizeof buf);
    assert_string_equal(buf, "[2001:db8::1]:443");
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    sy_addr_text((struct sockaddr *)&u, buf, sizeof buf);
    assert_string_equal(buf, "?");
}

static void test_ip_only(void **state)
{
    (void)state;
    char buf[64];
    struct sockaddr_storage a = v4("127.0.0.1", 1);
    sy_addr_ip((struct sockaddr *)&a, buf, sizeof buf);
    assert_string_equal(buf, "127.0.0.1");
    a = v6("::ffff:198.51.100.2", 1); /* a v4 client on a dual-stack socket */
    sy_addr_ip((struct sockaddr *)&a, buf, sizeof buf);
    assert_string_equal(buf, "198.51.100.2");
    a = v6("::1", 1);
    sy_addr_ip((struct sockaddr *)&a, buf, sizeof buf);
    assert_string_equal(buf, "::1");
    struct sockaddr_storage none = {.ss_family = AF_UNIX};
    strcpy(buf, "stale");
    sy_addr_ip((struct sockaddr *)&none, buf, sizeof buf);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_with_port),
        cmocka_unit_test(test_ip_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
