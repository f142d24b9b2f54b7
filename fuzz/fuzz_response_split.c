/* libFuzzer target: the upstream response path with the backend's bytes
 * cut at points the input chooses (see fuzz_response.c, FZ_SPLIT_READS).
 * Same invariants as fuzz_response. */
#define FZ_SPLIT_READS 1
#include "fuzz_response.c"
