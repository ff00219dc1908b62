/* mock.h: llm-mock.c, included whole by the mock-* harnesses so its
 * static parsers can be reached; its main() renamed, its lh_die()
 * caught (fuzz.h). */
#define FUZZ_CATCH_DIE
#include "fuzz.h"
#define main llm_mock_main
#include "../../src/llm-mock.c"
#undef main
