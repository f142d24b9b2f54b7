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
        if (v.p[0] != '[' &&
            !(ch == '-' || ch == '.' || ch == '_' || ch == '~' || (ch >= '0' && ch <= '9') ||
              (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
            return -1;
        out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    out[end] = '\0';
    return (int)end;
}

/* Length of the path separator starting at p[i], 0 if none: "/", and what
 * some backend decodes or normalises into one ("\", "%2F", "%5C"). */
static size_t separator_at(sy_str path, size_t i)
{
    char ch = path.p[i];
    if (ch == '/' || ch == '\\')
        return 1;
    if (ch == '%' && i + 2 < path.len &&
        ((path.p[i + 1] == '2' && (path.p[i + 2] == 'f' || path.p[i + 2] == 'F')) ||
         (path.p[i + 1] == '5' && (path.p[i + 2] == 'c' || path.p[i + 2] == 'C'))))
        return 3;
    return 0;
}

/* Is p[from..to) "." or "..", each dot raw or %2e? */
static bool is_dots(sy_str path, size_t from, size_t to)
{
    size_t dots = 0, k = from;
    while (k < to) {
        if (path.p[k] == '.') {
            k++;
        } else if (k + 3 <= to && path.p[k] == '%' && path.p[k + 1] == '2' &&
                   (path.p[k + 2] == 'e' || path.p[k + 2] == 'E')) {
            k += 3;
        } else {
            return false;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

bool sy_path_has_dot_segment(sy_str path)
{
    size_t start = 0;
    for (size_t i = 0; i <= path.len;) {
        size_t sep = i < path.len ? separator_at(path, i) : 1;
        if (!sep) {
            i++;
            continue;
        }
        /* A segment's name ends at ';': Tomcat and others strip path
         * parameters, so "..;x" is ".." to them. */
        const char *semi = memchr(path.p + start, ';', i - start);
        size_t end = semi ? (size_t)(semi - path.p) : i;
        if (is_dots(path, start, end))
            return true;
        i += sep;
        start = i;
    }
    return false;
}

bool sy_segment_has_separator(sy_str v)
{
    for (size_t i = 0; i < v.len; i++)
        if (separator_at(v, i))
            return true;
    return false;
}
