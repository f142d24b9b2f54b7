/* Error log with levels.  Lines go to stderr (or the configured file) with
 * a timestamp and level; one write(2) per line so worker threads do not
 * interleave partial lines. */
#ifndef SY_CORE_LOG_H
#define SY_CORE_LOG_H

enum sy_log_level { SY_LOG_DEBUG, SY_LOG_INFO, SY_LOG_WARN, SY_LOG_ERROR };

extern int sy_log_min_level;

void sy_log_set_fd(int fd);
int sy_log_level_parse(const char *name); /* -1 when unknown */
void sy_log(enum sy_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sy_debug(...)                                                                              \
    do {                                                                                           \
        if (sy_log_min_level <= SY_LOG_DEBUG)                                                      \
            sy_log(SY_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)
#define sy_info(...) sy_log(SY_LOG_INFO, __VA_ARGS__)
#define sy_warn(...) sy_log(SY_LOG_WARN, __VA_ARGS__)
#define sy_error(...) sy_log(SY_LOG_ERROR, __VA_ARGS__)

#endif
