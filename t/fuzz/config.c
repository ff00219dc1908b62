/* config: the model client's config file (src/lh-llm-config.c): loaded,
 * then a model resolved from it for each role, as llm-call does.
 *
 * Input: the file. A key command in it is not run: popen() here reads
 * nothing, as a command that printed nothing would.
 */
#define FUZZ_CATCH_DIE
#include "fuzz.h"
#include <stdio.h>

static FILE *
fuzz_popen(const char *cmd, const char *mode)
{
	(void)cmd, (void)mode;
	return fopen("/dev/null", "r");
}

#define popen fuzz_popen
#define pclose fclose
#include "../../src/lh-llm-config.c"
#undef popen
#undef pclose

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *roles[] = { "planner", "worker", "judge", NULL };
	static char path[128];
	struct lh_llm_options opt;
	struct call c;
	char err[512];
	json_t *config;
	int i;

	if (!path[0]) {
		snprintf(path, sizeof path, "%s/config.json", fuzz_scratch());
		unsetenv("LONGHAUL_MODEL");
		unsetenv("LONGHAUL_WORKER_MODEL");
		unsetenv("LONGHAUL_PLANNER_MODEL");
		unsetenv("LONGHAUL_JUDGE_MODEL");
		unsetenv("OPENAI_BASE_URL");
		unsetenv("ANTHROPIC_BASE_URL");
		unsetenv("LONGHAUL_KEY_COMMAND");
		setenv("OPENAI_API_KEY", "sk-fuzz-not-a-key", 1);
	}
	fuzz_write_file(path, data, size);
	if (setjmp(fuzz_jmp))
		abort();
	err[0] = 0;
	if (!(config = llm_load_config(path, err, sizeof err))) {
		if (!err[0])
			abort();
		return 0;
	}
	for (i = 0; roles[i]; i++) {
		memset(&opt, 0, sizeof opt);
		memset(&c, 0, sizeof c);
		opt.role = roles[i];
		c.opt = &opt;
		c.config = config;
		err[0] = 0;
		if (llm_resolve_model(&c, err, sizeof err) < 0 && !err[0])
			abort();
		free(c.m.name);
		free(c.m.base_url);
		free(c.m.alias);
		free(c.m.key);
		llm_secret = NULL;
	}
	json_decref(config);
	return 0;
}
