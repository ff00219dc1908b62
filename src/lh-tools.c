/* lh-tools.c: the tools a harness performs for an agent outside its
 * sandbox (agent-step -x, engine-run -x): a tool of a tools file that has
 * a "command" is run by the harness, its words filled with the model's
 * arguments.
 *
 * What holds: the model's arguments become whole words of an argv, never
 * text for a shell, so no argument can add a word, an option of its own
 * before "--" where the template puts one, a redirection or a second
 * command; fields that the harness sets ("drop") never reach the tool's
 * stdin from the model.
 */
#include <stdlib.h>
#include <string.h>

#include "longhaul.h"

/* The value of an argument as one word of a command line: a string as
 * it is, a number or boolean as JSON, an object or array as compact
 * JSON; NULL when it is missing or null. */
static char *
word_of(json_t *v)
{
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return lh_strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* A placeholder word "{name}" of a tool's command: name, else NULL. */
static char *
placeholder(const char *w)
{
	size_t n = strlen(w);

	if (n < 3 || w[0] != '{' || w[n - 1] != '}')
		return NULL;
	return lh_strdup(w + 1);
}

/* Add a template word (a string, or a group: an array of strings kept
 * only when all its placeholders have values); 0, or -1 with the name
 * of the missing argument in missing. */
static int
fill(json_t *word, json_t *args, char ***av, size_t *n, int group, char **missing)
{
	json_t *w;
	size_t i, start = *n;
	char *name, *v;

	if (json_is_array(word)) {
		json_array_foreach(word, i, w)
			if (fill(w, args, av, n, 1, missing) < 0) {
				while (*n > start)
					free((*av)[--*n]);
				return 0;
			}
		return 0;
	}
	if (!json_is_string(word))
		return 0;
	*av = lh_realloc(*av, (*n + 2) * sizeof **av);
	if (!(name = placeholder(json_string_value(word)))) {
		(*av)[(*n)++] = lh_strdup(json_string_value(word));
		return 0;
	}
	name[strlen(name) - 1] = 0;
	v = word_of(json_object_get(args, name));
	if (!v) {
		if (!group && !*missing)
			*missing = lh_strdup(name);
		free(name);
		return -1;
	}
	free(name);
	(*av)[(*n)++] = v;
	return 0;
}

char **
lh_tool_argv(json_t *spec, json_t *args, char **input, char **missing)
{
	json_t *in, *w, *f;
	char **av = NULL, *prog, *s;
	const char *feed;
	size_t n = 0, i, k;

	*input = NULL;
	*missing = NULL;
	json_array_foreach(json_object_get(spec, "command"), i, w)
		fill(w, args, &av, &n, 0, missing);
	if (*missing || !n) {
		for (i = 0; i < n; i++)
			free(av[i]);
		free(av);
		if (!*missing)
			*missing = lh_strdup("(none)");
		return NULL;
	}
	av[n] = NULL;
	if ((prog = lh_find_program(av[0]))) {
		free(av[0]);
		av[0] = prog;
	}
	if (!(feed = json_string_value(json_object_get(spec, "stdin"))))
		return av;
	in = json_object_get(args, feed);
	if (json_is_array(in)) {
		*input = lh_strdup("");
		json_array_foreach(in, i, w) {
			/* fields the harness sets, not the model */
			json_array_foreach(json_object_get(spec, "drop"), k, f)
				if (json_is_object(w) && json_is_string(f))
					json_object_del(w, json_string_value(f));
			s = json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY);
			*input = lh_realloc(*input, strlen(*input) + strlen(s) + 2);
			strcat(strcat(*input, s), "\n");
			free(s);
		}
	} else if (in) {
		s = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
		*input = lh_malloc(strlen(s) + 2);
		strcat(strcpy(*input, s), "\n");
		free(s);
	} else
		*input = lh_strdup("");
	return av;
}

char **
lh_tool_env(char *const pass[], size_t npass)
{
	static const char *ours[] = { "LONGHAUL_TASK", "LONGHAUL_AGENT", "LONGHAUL_CYCLE", "LONGHAUL_PID", NULL };
	char **extra = lh_malloc((npass + 8) * sizeof *extra), **env;
	size_t n = 0, i;

	for (i = 0; ours[i]; i++)
		extra[n++] = (char *)ours[i];
	for (i = 0; i < npass; i++)
		extra[n++] = pass[i];
	env = lh_sandbox_env(LH_SANDBOX_OFF, extra, n);
	free(extra);
	return env;
}
