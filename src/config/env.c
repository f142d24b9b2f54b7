/* Tencent's three release environments, by name. */
#include <string.h>

#include "config/model.h"

static const char *const env_names[SY_ENV_COUNT] = {"test", "prepub", "release"};

int sy_env_index(const char *name, size_t len)
{
    for (int i = 0; i < SY_ENV_COUNT; i++)
        if (strlen(env_names[i]) == len && memcmp(env_names[i], name, len) == 0)
            return i;
    return -1;
}

const char *sy_env_name(int index)
{
    if (index < 0 || index >= SY_ENV_COUNT)
        return "?";
    return env_names[index];
}
