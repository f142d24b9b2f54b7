#include "core/str.h"

int sy_str_cmp(sy_str a, sy_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (a.len == b.len)
        return 0;
    return a.len < b.len ? -1 : 1;
}

sy_str sy_str_trim(sy_str s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

int sy_str_to_u64(sy_str s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

bool sy_str_list_next(sy_str list, size_t *pos, sy_str *item)
{
    size_t i = *pos;
    if (i > list.len)
        return false;
    size_t j = i;
    while (j < list.len && list.p[j] != ',')
        j++;
    *item = sy_str_trim(sy_str_make(list.p + i, j - i));
    *pos = j + 1;
    return true;
}

int sy_str_list_has_token(sy_str list, const char *token)
{
    sy_str tok = sy_str_c(token), item;
    size_t pos = 0;
    while (sy_str_list_next(list, &pos, &item))
        if (sy_str_ieq(item, tok))
            return 1;
    return 0;
}
