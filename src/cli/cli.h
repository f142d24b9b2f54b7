#ifndef SY_CLI_CLI_H
#define SY_CLI_CLI_H

/* `switchyard explain ...`: show how one request would be routed. */
int sy_cli_explain(int argc, char **argv);
/* `switchyard test-routes -c FILE CASES.yaml`: assert routing decisions. */
int sy_cli_test_routes(int argc, char **argv);

/* `switchyard routes -c FILE`: the routes a configuration serves, one
 * line per API and environment, its policies below it (cli/routes.c). */
int sy_cli_routes(int argc, char **argv);

/* `switchyard version`: release, commit, compiler, library versions
 * (cli/version.c). */
int sy_cli_version(void);

/* `switchyard import tencent [-o OUT] FILE...`: Tencent Describe* answers
 * (JSON) to a Switchyard configuration (cli/import.c). */
int sy_cli_import(int argc, char **argv);

#endif
