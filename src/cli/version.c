/* `switchyard version`: what this binary is, for bug reports and fleet
 * audits: the release, the commit it was built from (baked in at build
 * time, "-dirty" when the tree had changes), the compiler, and the
 * version of every library it runs with (read at run time, so a library
 * upgraded under the binary shows). */
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>
#include <llhttp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <xxhash.h>
#include <yaml.h>

#include "cli/cli.h"
#include "version.h"

extern const char sy_build_commit[]; /* build/gen/commit.c (Makefile) */

int sy_cli_version(void)
{
    char pcre[64] = "?";
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    unsigned xx = XXH_versionNumber();
    printf("switchyard %s\n", SY_VERSION);
    printf("commit     %s\n", sy_build_commit);
#ifdef __clang__
    printf("compiler   clang %s\n", __clang_version__);
#else
    printf("compiler   gcc %s\n", __VERSION__);
#endif
    printf("openssl    %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("nghttp2    %s\n", nghttp2_version(0)->version_str);
    printf("llhttp     %d.%d.%d (compiled in from node-llhttp's sources, strict mode)\n",
           LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
    printf("libyaml    %s\n", yaml_get_version_string());
    printf("jansson    %s\n", jansson_version_str());
    printf("pcre2      %s\n", pcre);
    printf("libcurl    %s\n", curl_version_info(CURLVERSION_NOW)->version);
    printf("xxhash     %u.%u.%u\n", xx / 10000, xx / 100 % 100, xx % 100);
    return 0;
}
