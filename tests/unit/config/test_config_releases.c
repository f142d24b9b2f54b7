/* Releases (per-environment published API sets), Version, and the JSON
 * path the admin API loads through. */
#include <jansson.h>

#include "config/dump.h"
#include "config/yaml_tree.h"
#include "config_test.h"

static const char *with_releases =
    "Version: 41\n"
    "Services:\n"
    "  - ServiceId: shop\n"
    "    ServiceDesc: the shop\n"
    "    Apis:\n"
    "      - {ApiId: api-a, ApiDesc: draft, Path: /a2, ServiceType: MOCK, "
    "ServiceMockReturnMessage: new}\n"
    "    Releases:\n"
    "      - ReleaseVersion: v1\n"
    "        EnvironmentName: release\n"
    "        ReleaseDesc: first\n"
    "        Apis:\n"
    "          - {ApiId: api-a, Path: /a0, ServiceType: MOCK, ServiceMockReturnMessage: old}\n"
    "      - ReleaseVersion: v2\n"
    "        EnvironmentName: release\n"
    "        Active: true\n"
    "        Apis:\n"
    "          - {ApiId: api-a, Path: /a1, ServiceType: MOCK, ServiceMockReturnMessage: cur}\n"
    "      - ReleaseVersion: v3\n"
    "        EnvironmentName: test\n"
    "        Apis: []\n"
    "Plugins:\n"
    "  - PluginId: p\n"
    "    PluginType: Routing\n"
    "    Description: kept\n"
    "    PluginData: []\n"
    "    Attachments:\n"
    "      - {ServiceId: shop, EnvironmentName: test, ApiIds: [api-a]}\n";

static void test_env_apis_follow_active_release(void **state)
{
    sy_errors e = {0};
    sy_config *c = load_text(with_releases, &e);
    show_errors(&e);
    assert_non_null(c);
    assert_int_equal(c->version, 41);
    const sy_service_cfg *s = &c->services[0];
    assert_true(s->has_releases);
    assert_int_equal(s->n_releases, 3);
    assert_int_equal(s->env_mask, SY_ENV_RELEASE); /* test has no active release */
    assert_int_equal(s->n_env_apis[2], 1);
    assert_string_equal(s->env_apis[2][0].path, "/a1");
    assert_int_equal(s->n_env_apis[0], 0);
    assert_string_equal(s->desc, "the shop");
    assert_string_equal(s->apis[0].desc, "draft");
    assert_string_equal(c->plugins[0].desc, "kept");
    sy_config_free(c);
}

static void test_round_trip_and_json_path(void **state)
{
    sy_errors e = {0};
    sy_config *a = load_text(with_releases, &e);
    assert_non_null(a);
    char *dump = sy_config_dump_yaml_ex(a, SY_DUMP_SECRETS);
    sy_config *b = sy_config_load_string(dump, strlen(dump), "dump", &e);
    show_errors(&e);
    assert_non_null(b);
    char *again = sy_config_dump_yaml_ex(b, SY_DUMP_SECRETS);
    assert_string_equal(dump, again);
    /* YAML -> JSON -> model gives the same model again. */
    sy_arena ar;
    sy_arena_init(&ar, 4096);
    bool failed = false;
    sy_ynode *root = sy_ytree_parse(&ar, dump, strlen(dump), "dump", NULL, &e, NULL, &failed);
    json_t *doc = sy_ytree_to_json(root);
    sy_config *c = sy_config_load_json(doc, "<admin>", &e);
    show_errors(&e);
    assert_non_null(c);
    char *third = sy_config_dump_yaml_ex(c, SY_DUMP_SECRETS);
    assert_string_equal(dump, third);
    json_decref(doc);
    sy_arena_free(&ar);
    free(dump);
    free(again);
    free(third);
    sy_config_free(a);
    sy_config_free(b);
    sy_config_free(c);
    sy_errors_free(&e);
}

/* Some message contains `part`. */
static bool reported(const sy_errors *e, const char *part)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], part))
            return true;
    return false;
}

static void test_release_errors(void **state)
{
    sy_errors e = {0};
    const char *bad =
        "Services:\n"
        "  - ServiceId: shop\n"
        "    Environments: [prepub]\n"
        "    Releases:\n"
        "      - {ReleaseVersion: v1, EnvironmentName: release, Active: true, Apis: []}\n"
        "      - {ReleaseVersion: v1, EnvironmentName: release, Active: true,\n"
        "         Apis: [{ApiId: x, Path: /x, ServiceType: MOCK, ServiceMockReturnMessage: m},\n"
        "                {ApiId: x, Path: /y, ServiceType: MOCK, ServiceMockReturnMessage: m}]}\n"
        "      - {EnvironmentName: staging}\n";
    assert_null(load_text(bad, &e));
    show_errors(&e);
    assert_true(reported(&e, "Services[0].Releases[1].ReleaseVersion: duplicate ReleaseVersion"));
    assert_true(
        reported(&e, "Services[0].Releases[1].Active: release already has an active release"));
    assert_true(reported(&e, "Services[0].Releases[1].Apis[1].ApiId: duplicate ApiId"));
    assert_true(reported(&e, "Services[0].Releases[2].ReleaseVersion: is required"));
    assert_true(reported(&e, "Services[0].Releases[2].EnvironmentName: must be one of"));
    assert_true(reported(&e, "Services[0].Environments: must list exactly the environments"));
    sy_errors_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_apis_follow_active_release),
        cmocka_unit_test(test_round_trip_and_json_path),
        cmocka_unit_test(test_release_errors),
    };
    return cmocka_run_group_tests_name("config_releases", tests, NULL, NULL);
}
