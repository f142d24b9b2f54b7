/* `switchyard routes -c FILE`: what a configuration serves, one line per
 * API an environment serves and one per routing policy attached to it.
 * `make run` prints its tips from this, so they name only routes the
 * running configuration has (scripts/run-example.sh). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/load.h"

static const char *strip_kind(const char *path)
{
    /* "=/p" and "^~/p" are match kinds, not part of the URL. */
    if (path[0] == '=')
        return path + 1;
    if (path[0] == '^' && path[1] == '~')
        return path + 2;
    return path;
}

static void backend(const sy_backend_cfg *b)
{
    if (b->type == SY_BACKEND_MOCK)
        printf("mock %d", b->mock_status ? b->mock_status : 200);
    else if (b->upstream_id && b->product && strcmp(b->product, "upstream") == 0)
        printf("upstream %s", b->upstream_id);
    else
        printf("url %s", b->url ? b->url : "?");
}

static void policies(const sy_config *cfg, const sy_service_cfg *s, int env, const sy_api_cfg *a)
{
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const sy_plugin_cfg *p = &cfg->plugins[i];
        for (size_t j = 0; j < p->n_attachments; j++) {
            const sy_attachment_cfg *at = &p->attachments[j];
            if (at->env != env || strcmp(at->service_id, s->id) != 0)
                continue;
            for (size_t k = 0; k < at->n_api_ids; k++) {
                if (strcmp(at->api_ids[k], a->id) != 0)
                    continue;
                for (size_t q = 0; q < p->n_policies; q++) {
                    const sy_policy_cfg *pol = &p->policies[q];
                    printf("    policy %s/%s (weight %d) if %s -> ", p->id, pol->name, pol->weight,
                           pol->condition);
                    backend(pol->backend);
                    printf("\n");
                }
            }
        }
    }
}

int sy_cli_routes(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "-c") != 0) {
        fprintf(stderr, "usage: switchyard routes -c FILE\n");
        return 2;
    }
    sy_errors errs = {0};
    sy_config *cfg = sy_config_load_file(argv[2], &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        sy_errors_free(&errs);
        return 1;
    }
    for (size_t i = 0; i < cfg->n_services; i++) {
        const sy_service_cfg *s = &cfg->services[i];
        /* A service with domains answers only on them: say which. */
        const char *host = s->n_domains && s->domains[0].name[0] != '*' ? s->domains[0].name : "-";
        for (int env = 0; env < SY_ENV_COUNT; env++) {
            /* The environment is the first path segment unless the
             * domain maps a path to it. */
            char prefix[256];
            snprintf(prefix, sizeof prefix, "/%s", sy_env_name(env));
            for (size_t m = 0; s->n_domains && m < s->domains[0].n_mappings; m++)
                if (s->domains[0].mappings[m].env == env) {
                    const char *mp = s->domains[0].mappings[m].path;
                    size_t ml = strlen(mp);
                    snprintf(prefix, sizeof prefix, "%.*s",
                             (int)(ml && mp[ml - 1] == '/' ? ml - 1 : ml), mp);
                    break;
                }
            for (size_t j = 0; j < s->n_env_apis[env]; j++) {
                const sy_api_cfg *a = &s->env_apis[env][j];
                printf("%s %s %s%s host %s api %s/%s -> ", sy_env_name(env), a->method, prefix,
                       strip_kind(a->path), host, s->id, a->id);
                backend(&a->backend);
                printf("\n");
                policies(cfg, s, env, a);
            }
        }
    }
    sy_config_free(cfg);
    return 0;
}
