#include "cli/cli.h"

#include <stdio.h>

int sy_cli_explain(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "switchyard explain: not built yet\n");
    return 2;
}

int sy_cli_test_routes(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "switchyard test-routes: not built yet\n");
    return 2;
}
