/* lh-llm-config.c: which model a call goes to, and with which key.
 *
 * The model of a role comes from the option, LONGHAUL_ROLE_MODEL,
 * LONGHAUL_MODEL, then the config file's roles; a name is an alias of the
 * config's "models" or provider:model.  The key comes from the
 * provider's variable or a key command and is kept in one place
 * (llm_secret) so that everything printed can be redacted.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "longhaul.h"
#include "lh-llm.h"

/* ---- configuration ---- */

json_t *
llm_load_config(const char *path, char *err, size_t errsize)
{
	char board[4096];
	const char *b;
	json_error_t jerr;
	json_t *j;

	if (!path && (path = getenv("LONGHAUL_CONFIG")) && !*path)
		path = NULL;
	if (!path && (b = getenv("LONGHAUL_BOARD")) && *b) {
		lh_path(board, sizeof board, "%s/config.json", b);
		if (access(board, F_OK) == 0)
			path = board;
	}
	if (!path)
		return json_object();
	if (!(j = json_load_file(path, 0, &jerr)) || !json_is_object(j)) {
		snprintf(err, errsize, "%.300s:%d: %s", path, jerr.line, j ? "not a JSON object" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
is_loopback(const char *url)
{
	const char *h = strstr(url, "://");

	h = h ? h + 3 : url;
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

/* Run the key command; its first line is the key. */
static char *
key_from_command(const char *cmd, char *err, size_t errsize)
{
	char line[4096];
	FILE *p;
	size_t n = 0;
	int st;

	fflush(NULL);
	if (!(p = popen(cmd, "r"))) {
		snprintf(err, errsize, "key command: %s", strerror(errno));
		return NULL;
	}
	line[0] = 0;
	if (fgets(line, sizeof line, p))
		n = strcspn(line, "\r\n");
	line[n] = 0;
	while (fgets(line + n + 1, sizeof line - n - 1, p))
		;
	st = pclose(p);
	if (st != 0 || n == 0) {
		snprintf(err, errsize, "key command failed (status %d) or printed nothing", st);
		return NULL;
	}
	return lh_strdup(line);
}

static char *
role_env(const char *role)
{
	static char name[96];
	size_t i;

	snprintf(name, sizeof name, "LONGHAUL_%s_MODEL", role);
	for (i = 9; name[i]; i++)
		name[i] = toupper((unsigned char)name[i]);
	return getenv(name);
}

/* Resolve the model: option, LONGHAUL_ROLE_MODEL, LONGHAUL_MODEL, the
 * config's roles.ROLE, roles.default; an alias from "models", or
 * provider:model. */
int
llm_resolve_model(struct call *c, char *err, size_t errsize)
{
	const struct lh_llm_options *o = c->opt;
	const char *spec = o->model, *v, *colon, *keyenv, *keycmd, *url;
	json_t *roles = json_object_get(c->config, "roles"), *def;
	struct model *m = &c->m;
	char *s;

	if (!spec && o->role && (v = role_env(o->role)) && *v)
		spec = v;
	if (!spec && (v = getenv("LONGHAUL_MODEL")) && *v)
		spec = v;
	if (!spec && o->role)
		spec = json_string_value(json_object_get(roles, o->role));
	if (!spec)
		spec = json_string_value(json_object_get(roles, "default"));
	if (!spec) {
		snprintf(err, errsize, "no model: give -m, set LONGHAUL_MODEL or the config's roles");
		return -1;
	}
	def = json_object_get(json_object_get(c->config, "models"), spec);
	if (def) {
		m->alias = lh_strdup(spec);
		v = json_string_value(json_object_get(def, "provider"));
		s = (char *)json_string_value(json_object_get(def, "model"));
		if (!v || !s) {
			snprintf(err, errsize, "model %s: needs \"provider\" and \"model\"", spec);
			return -1;
		}
		/* openai-responses: the same provider, its Responses API */
		if ((m->responses = !strcmp(v, "openai-responses")))
			v = "openai";
		snprintf(m->provider, sizeof m->provider, "%s", v);
		m->name = lh_strdup(s);
	} else if ((colon = strchr(spec, ':'))) {
		if ((m->responses = colon - spec == 16 && !strncmp(spec, "openai-responses", 16)))
			strcpy(m->provider, "openai");
		else
			snprintf(m->provider, sizeof m->provider, "%.*s", (int)(colon - spec), spec);
		m->name = lh_strdup(colon + 1);
	} else {
		snprintf(err, errsize, "model %s: not an alias of the config, nor provider:model", spec);
		return -1;
	}
	if (strcmp(m->provider, "openai") && strcmp(m->provider, "anthropic")) {
		snprintf(err, errsize, "model %s: unknown provider %s (openai, openai-responses or anthropic)", spec, m->provider);
		return -1;
	}
	m->max_tokens = json_integer_value(json_object_get(def, "max_tokens"));
	/* the alias's own base_url is more specific than the global variable */
	url = o->base_url;
	if (!url)
		url = json_string_value(json_object_get(def, "base_url"));
	if (!url && (v = getenv(m->provider[0] == 'o' ? "OPENAI_BASE_URL" : "ANTHROPIC_BASE_URL")) && *v)
		url = v;
	if (!url)
		url = m->provider[0] == 'o' ? "https://api.openai.com/v1" : "https://api.anthropic.com";
	m->base_url = lh_strdup(url);
	while ((s = strrchr(m->base_url, '/')) && s[1] == 0)
		*s = 0;
	m->loopback = is_loopback(m->base_url);
	keyenv = json_string_value(json_object_get(def, "key_env"));
	if (!keyenv)
		keyenv = m->provider[0] == 'o' ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY";
	if ((v = getenv(keyenv)) && *v)
		m->key = lh_strdup(v);
	keycmd = json_string_value(json_object_get(def, "key_command"));
	if (!keycmd && (v = getenv("LONGHAUL_KEY_COMMAND")) && *v)
		keycmd = v;
	if (!m->key && keycmd && !(m->key = key_from_command(keycmd, err, errsize)))
		return -1;
	llm_secret = m->key;
	if (!m->key && !m->loopback) {
		snprintf(err, errsize, "no API key for %s: set %s or a key command", spec, keyenv);
		return -1;
	}
	return 0;
}
