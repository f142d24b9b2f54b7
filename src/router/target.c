#include "router/target.h"

#include <string.h>

int sy_host_normalize(sy_str v, char *out, size_t cap)
{
    if (v.len == 0 || v.len > 255)
        return -1;
    size_t end = v.len;
    if (v.p[0] == '[') {
        const char *rb = memchr(v.p, ']', v.len);
        if (!rb)
            return -1;
        end = (size_t)(rb - v.p) + 1;
        if (end < v.len && v.p[end] != ':')
            return -1;
    } else {
        const char *colon = memchr(v.p, ':', v.len);
        if (colon)
            end = (size_t)(colon - v.p);
    }
    if (end >= cap)
        return -1;
    if (end < v.len) {
        /* A port is 1-5 digits up to 65535; anything larger is no port a
         * backend or a front proxy would read the same way. */
        unsigned long port = 0;
        if (end + 1 == v.len)
            return -1;
        for (size_t i = end + 1; i < v.len; i++) {
            if (v.p[i] < '0' || v.p[i] > '9')
                return -1;
            port = port * 10 + (unsigned long)(v.p[i] - '0');
            if (port > 65535)
                return -1;
        }
    }
    for (size_t i = 0; i < end; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (v.p[0] != '[' && !(ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
                                (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                                (ch >= 'A' && ch <= 'Z')))
            return -1;
        out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    out[end] = '\0';
    return (int)end;
}

bool sy_path_has_dot_segment(sy_str path)
{
    size_t i = 0;
    while (i < path.len) {
        if (path.p[i] != '/') {
            i++;
            continue;
        }
        size_t j = i + 1, dots = 0, k = j;
        while (k < path.len && path.p[k] != '/') {
            if (path.p[k] == '.') {
                dots++;
                k++;
            } else if (k + 2 < path.len && path.p[k] == '%' && path.p[k + 1] == '2' &&
                       (path.p[k + 2] == 'e' || path.p[k + 2] == 'E')) {
                dots++;
                k += 3;
            } else {
                dots = 99;
                break;
            }
        }
        if (k > j && (dots == 1 || dots == 2))
            return true;
        i = j;
    }
    return false;
}
