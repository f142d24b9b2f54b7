/* libFuzzer target: a resolver's answer (src/upstream/dns.c).  Whoever
 * answers our UDP query -- the resolver, or anyone on the path who guesses
 * the port and id -- controls these bytes, so the parser must stay inside
 * the message and the address array whatever they say.
 *
 * Input: 1 control byte, then the DNS message.
 *   bits 0-5  how many addresses the caller has room for (1..64)
 *   bit 6     ask with an id one off the message's: must be refused
 *   bit 7     also treat the message as a host name: encode a query for
 *             it, which must fit its buffer and parse back as an answer
 *             with no addresses
 * A good answer is stored in the cache and read back. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "upstream/dns.h"

#define CANARY 0xa5

static void check(int ok)
{
    if (!ok)
        abort(); /* a fuzz invariant was violated */
}

static void query_round_trip(const uint8_t *data, size_t size)
{
    char name[300];
    size_t nl = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, nl);
    name[nl] = '\0';
    unsigned char buf[512 + 1];
    memset(buf, CANARY, sizeof buf);
    size_t l = sy_dns_encode_query(0x1234, name, 28, buf, sizeof buf - 1);
    check(buf[sizeof buf - 1] == CANARY);
    if (!l)
        return;
    check(l <= sizeof buf - 1 && l >= 12 + 2 + 4);
    buf[2] |= 0x80; /* as if the server echoed it back with no answer */
    sy_dns_addr a[1];
    size_t n = 0;
    uint32_t ttl = UINT32_MAX;
    check(sy_dns_parse_response(buf, l, 0x1234, a, &n, 1, &ttl) == 0 && n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_log_min_level = getenv("FUZZ_LOG") ? SY_LOG_DEBUG : SY_LOG_ERROR + 1;
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    const uint8_t *msg = data + 1; /* still ends where libFuzzer's buffer ends */
    size_t len = size - 1;
    size_t max = (size_t)(ctl & 0x3f) + 1;
    uint16_t id = len >= 2 ? (uint16_t)(msg[0] << 8 | msg[1]) : 0;
    bool wrong_id = ctl & 0x40;
    if (wrong_id)
        id ^= 1;

    sy_dns_addr addrs[SY_DNS_MAX_ADDRS + 1];
    memset(addrs, CANARY, sizeof addrs);
    size_t n = 0;
    uint32_t ttl = UINT32_MAX;
    int rc = sy_dns_parse_response(msg, len, id, addrs, &n, max, &ttl);
    check(rc >= -1 && rc <= 15);
    check(n <= max);
    if (wrong_id || len < 12)
        check(rc == -1 && n == 0);
    /* Nothing written past what the caller said it had room for. */
    const unsigned char *past = (const unsigned char *)&addrs[max];
    for (size_t i = 0; i < sizeof addrs - max * sizeof addrs[0]; i++)
        check(past[i] == CANARY);
    for (size_t i = 0; i < n; i++)
        check(addrs[i].family == AF_INET || addrs[i].family == AF_INET6);
    check(n || ttl == UINT32_MAX); /* a TTL only from an address taken */

    if (rc == 0 && n) {
        static bool wanted;
        if (!wanted) {
            sy_dns_want("fuzz.test");
            wanted = true;
        }
        sy_dns_store("fuzz.test", addrs, n, ttl, 1000);
        struct sockaddr_storage out[SY_DNS_MAX_ADDRS];
        socklen_t lens[SY_DNS_MAX_ADDRS];
        check(sy_dns_cached("fuzz.test", 80, out, lens, SY_DNS_MAX_ADDRS) == n);
    }
    if (ctl & 0x80)
        query_round_trip(msg, len);
    return 0;
}
