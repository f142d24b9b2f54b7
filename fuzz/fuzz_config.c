/* libFuzzer target: arbitrary bytes as a configuration file.  Whatever the
 * input, loading must neither crash nor leak; when it loads, the dump must
 * load again (the admin API relies on that). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/dump.h"
#include "config/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_string((const char *)data, size, "fuzz.yaml", &errs);
    if (cfg) {
        char *dump = sy_config_dump_yaml_ex(cfg, SY_DUMP_SECRETS);
        sy_errors again = {0};
        sy_config *back = sy_config_load_string(dump, strlen(dump), "dump", &again);
        if (!back)
            abort(); /* a loaded config must survive its own dump */
        sy_config_free(back);
        sy_errors_free(&again);
        free(dump);
        sy_config_free(cfg);
    }
    sy_errors_free(&errs);
    return 0;
}
