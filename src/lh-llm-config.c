/* lh-llm-config.c: which model a call goes to, with which key and price.
 *
 * The model of a role comes from the option, LONGHAUL_ROLE_MODEL,
 * LONGHAUL_MODEL, then the config file's roles.  A name with a colon is
 * provider:model, always: the config's aliases never contain a colon, so
 * no alias can stand for an explicit provider:model and send its key to
 * another server.  A name without a colon is an alias of the config's
 * "models", else a bare model name whose provider follows from the name
 * (claude-* anthropic; gpt-*, chatgpt-*, o1*, o3*, o4* openai) or from the
 * only provider whose key is set.
 *
 * The config file is the user's, never the board's: the board is the
 * agents' territory, and a config there would let an agent choose where
 * the keys go.  It is -c, LONGHAUL_CONFIG, else
 * $XDG_CONFIG_HOME/longhaul/config.json (~/.config/...); a config inside
 * $LONGHAUL_BOARD is refused.
 *
 * The key comes from the provider's variable or a key command and is kept
 * in one place (llm_secret) so that everything printed can be redacted.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#ifndef LH_VERSION
#define LH_VERSION "unknown"
#endif

char llm_config_file[4096];     /* the config in use, for messages; "" none */

/* ---- configuration ---- */

/* The config's path: -c, $LONGHAUL_CONFIG, else the user's file when it
 * exists; NULL for none. */
static const char *
config_path(const char *path, char *buf, size_t size)
{
	const char *v;

	if (path && *path)
		return path;
	if ((v = getenv("LONGHAUL_CONFIG")) && *v)
		return v;
	if ((v = getenv("XDG_CONFIG_HOME")) && *v)
		lh_path(buf, size, "%s/longhaul/config.json", v);
	else if ((v = getenv("HOME")) && *v)
		lh_path(buf, size, "%s/.config/longhaul/config.json", v);
	else
		return NULL;
	return access(buf, F_OK) == 0 ? buf : NULL;
}

/* Is path inside dir (both resolved)? */
static int
inside(const char *path, const char *dir)
{
	char rp[PATH_MAX], rd[PATH_MAX];
	size_t n;

	if (!realpath(path, rp) || !realpath(dir, rd))
		return 0;
	n = strlen(rd);
	return !strncmp(rp, rd, n) && (rp[n] == '/' || rp[n] == 0 || (n == 1 && rd[0] == '/'));
}

json_t *
llm_load_config(const char *path, char *err, size_t errsize)
{
	char buf[4096];
	const char *b, *alias;
	json_error_t jerr;
	json_t *j, *v;

	llm_config_file[0] = 0;
	if (!(path = config_path(path, buf, sizeof buf)))
		return json_object();
	snprintf(llm_config_file, sizeof llm_config_file, "%s", path);
	if ((b = getenv("LONGHAUL_BOARD")) && *b && inside(path, b)) {
		snprintf(err, errsize, "%.300s: a config inside the board, which agents can write, is not read; "
		    "use LONGHAUL_CONFIG or ~/.config/longhaul/config.json", path);
		return NULL;
	}
	if (!(j = json_load_file(path, 0, &jerr)) || !json_is_object(j)) {
		snprintf(err, errsize, "%.300s:%d: %s", path, jerr.line, j ? "not a JSON object" : jerr.text);
		json_decref(j);
		return NULL;
	}
	json_object_foreach(json_object_get(j, "models"), alias, v)
		if (strchr(alias, ':')) {
			snprintf(err, errsize, "%.300s: alias %.100s: an alias may not contain ':' "
			    "(provider:model names a model directly)", path, alias);
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

/* The provider of a bare model name: by the name, else the only provider
 * whose key (or base URL) is set; NULL when it cannot be told. */
static const char *
infer_provider(const char *name)
{
	static const char *const openai[] = { "gpt-", "chatgpt-", "o1", "o3", "o4" };
	const char *v;
	int o, a;
	size_t i;

	if (!strncmp(name, "claude", 6))
		return "anthropic";
	for (i = 0; i < sizeof openai / sizeof *openai; i++)
		if (!strncmp(name, openai[i], strlen(openai[i])))
			return "openai";
	o = ((v = getenv("OPENAI_API_KEY")) && *v) || ((v = getenv("OPENAI_BASE_URL")) && *v);
	a = ((v = getenv("ANTHROPIC_API_KEY")) && *v) || ((v = getenv("ANTHROPIC_BASE_URL")) && *v);
	return o && !a ? "openai" : a && !o ? "anthropic" : NULL;
}

/* The model name the call asks for, before resolution: option,
 * LONGHAUL_ROLE_MODEL, LONGHAUL_MODEL, roles.ROLE, roles.default. */
const char *
llm_model_spec(const struct lh_llm_options *o, json_t *config)
{
	json_t *roles = json_object_get(config, "roles");
	const char *spec = o->model, *v;

	if (!spec && o->role && (v = role_env(o->role)) && *v)
		spec = v;
	if (!spec && (v = getenv("LONGHAUL_MODEL")) && *v)
		spec = v;
	if (!spec && o->role)
		spec = json_string_value(json_object_get(roles, o->role));
	if (!spec)
		spec = json_string_value(json_object_get(roles, "default"));
	return spec;
}

/* Resolve the model (see the header) and its key. */
int
llm_resolve_model(struct call *c, char *err, size_t errsize)
{
	const struct lh_llm_options *o = c->opt;
	const char *spec, *v, *colon, *keyenv, *keycmd, *url;
	const char *cfg = llm_config_file[0] ? llm_config_file : "~/.config/longhaul/config.json";
	json_t *def = NULL;
	struct model *m = &c->m;
	char *s;

	if (!(spec = llm_model_spec(o, c->config))) {
		snprintf(err, errsize, "no model: give -m, set LONGHAUL_MODEL or the roles of %s", cfg);
		return -1;
	}
	if ((colon = strchr(spec, ':'))) {
		/* openai-responses:MODEL: the OpenAI provider, its Responses API */
		if ((m->responses = colon - spec == 16 && !strncmp(spec, "openai-responses", 16)))
			strcpy(m->provider, "openai");
		else
			snprintf(m->provider, sizeof m->provider, "%.*s", (int)(colon - spec), spec);
		m->name = lh_strdup(colon + 1);
	} else if ((def = json_object_get(json_object_get(c->config, "models"), spec))) {
		m->alias = lh_strdup(spec);
		v = json_string_value(json_object_get(def, "provider"));
		s = (char *)json_string_value(json_object_get(def, "model"));
		if (!v || !s) {
			snprintf(err, errsize, "model %s: needs \"provider\" and \"model\" in %s", spec, cfg);
			return -1;
		}
		/* openai-responses: the same provider, its Responses API */
		if ((m->responses = !strcmp(v, "openai-responses")))
			v = "openai";
		snprintf(m->provider, sizeof m->provider, "%s", v);
		m->name = lh_strdup(s);
	} else if ((v = infer_provider(spec))) {
		snprintf(m->provider, sizeof m->provider, "%s", v);
		m->name = lh_strdup(spec);
	} else {
		snprintf(err, errsize, "model %s: which provider? write openai:%s or anthropic:%s, "
		    "or make it an alias in %s", spec, spec, spec, cfg);
		return -1;
	}
	if (strcmp(m->provider, "openai") && strcmp(m->provider, "anthropic")) {
		snprintf(err, errsize, "model %s: unknown provider %s (openai, openai-responses or anthropic): write openai:%s for an "
		    "OpenAI-compatible server (Ollama, vLLM, OpenRouter), or anthropic:...", spec, m->provider, spec);
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
	if (c->resolve_only)
		return 0;
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

/* ---- pre-flight and listing ---- */

static size_t
gather(char *p, size_t size, size_t n, void *arg)
{
	llm_buf_add(arg, p, size * n);
	return size * n;
}

/* Does the list of the models endpoint offer name?  Anthropic lists dated
 * ids (claude-sonnet-4-5-20250929) for the names people write, Ollama
 * NAME:latest for NAME. 1 yes, 0 no, -1 cannot tell (no list, or only a
 * page of it). */
static int
offered(json_t *list, const char *name)
{
	json_t *data = json_object_get(list, "data"), *m;
	const char *id;
	size_t i, n = strlen(name);

	if (!json_is_array(data) || !json_array_size(data) || json_is_true(json_object_get(list, "has_more")))
		return -1;
	json_array_foreach(data, i, m)
		if ((id = json_string_value(json_object_get(m, "id"))) &&
		    (!strcmp(id, name) || (!strncmp(id, name, n) && (id[n] == '-' || !strcmp(id + n, ":latest"))) ||
		    (!strncmp(id, "models/", 7) && !strcmp(id + 7, name))))
			return 1;
	return 0;
}

static char *
redact_msg(char *s)
{
	char *p;
	size_t n;

	if (llm_secret && (n = strlen(llm_secret)) >= 4)
		while ((p = strstr(s, llm_secret)))
			memset(p, '*', n);
	return s;
}

/* Ask the server for its models: one GET, nothing spent. */
static int
check_server(struct call *c, char *msg, size_t size)
{
	struct curl_slist *h = NULL;
	struct buf body = { 0 };
	char url[4200], header[4200], cerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	size_t n = strlen(c->m.base_url);
	json_t *list;
	CURLcode rc;
	int r = LH_LLM_OK, off;

	if (c->m.provider[0] == 'o') {
		lh_path(url, sizeof url, "%s/models", c->m.base_url);
		if (c->m.key) {
			lh_path(header, sizeof header, "Authorization: Bearer %s", c->m.key);
			h = curl_slist_append(h, header);
		}
	} else {
		lh_path(url, sizeof url, "%s%s/models?limit=1000", c->m.base_url,
		    n >= 3 && !strcmp(c->m.base_url + n - 3, "/v1") ? "" : "/v1");
		if (c->m.key) {
			lh_path(header, sizeof header, "x-api-key: %s", c->m.key);
			h = curl_slist_append(h, header);
		}
		h = curl_slist_append(h, "anthropic-version: 2023-06-01");
	}
	memset(header, 0, sizeof header);
	curl_global_init(strncmp(url, "https:", 6) ? CURL_GLOBAL_NOTHING : CURL_GLOBAL_DEFAULT);
	c->curl = curl_easy_init();
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "longhaul-llm-call/" LH_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(llm_env_number("LONGHAUL_CONNECT_TIMEOUT", 10) * 1000));
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)(llm_env_number("LONGHAUL_CHECK_TIMEOUT", 30) * 1000));
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	off = snprintf(msg, size, "%s:%s at %s: ", c->m.provider, c->m.name, c->m.base_url);
	if (off < 0 || (size_t)off >= size)
		off = 0;
	msg += off;
	size -= off;
	if (rc != CURLE_OK) {
		snprintf(msg, size, "the server does not answer: %s", cerr[0] ? cerr : curl_easy_strerror(rc));
		r = LH_LLM_TEMPORARY;
	} else if (status == 401 || status == 403) {
		snprintf(msg, size, "the server refuses the key (HTTP %ld): %.200s", status, llm_buf_str(&body));
		r = LH_LLM_PERMANENT;
	} else if (status < 200 || status > 299) {
		snprintf(msg, size, "HTTP %ld from %s: is the base URL right? %.200s", status, url, llm_buf_str(&body));
		r = status == 429 || status >= 500 ? LH_LLM_TEMPORARY : LH_LLM_PERMANENT;
	} else if ((list = json_loadb(llm_buf_str(&body), body.len, 0, NULL)) && !offered(list, c->m.name)) {
		snprintf(msg, size, "the server does not offer this model (%zu models listed)",
		    json_array_size(json_object_get(list, "data")));
		r = LH_LLM_PERMANENT;
		json_decref(list);
	} else {
		json_decref(list);
		snprintf(msg, size, "ok");
	}
	free(body.s);
	redact_msg(msg - off);
	return r;
}

int
lh_llm_check(const struct lh_llm_options *opt, char *msg, size_t size)
{
	struct call c;
	json_t *price;
	char err[512] = "";
	int r;

	memset(&c, 0, sizeof c);
	c.opt = opt;
	if (!(c.config = llm_load_config(opt->config, err, sizeof err))) {
		snprintf(msg, size, "%s", err);
		return LH_LLM_USAGE;
	}
	if (llm_resolve_model(&c, err, sizeof err) < 0) {
		snprintf(msg, size, "%s", redact_msg(err));
		r = strstr(err, "key") ? LH_LLM_PERMANENT : LH_LLM_USAGE;
		goto out;
	}
	price = llm_price(&c);
	if (!price && llm_env_number("LONGHAUL_BUDGET_USD", -1) >= 0) {
		snprintf(msg, size, "%s:%s: no price, so a budget in USD cannot be kept: give one in the \"prices\" "
		    "of %s, or a budget in tokens", c.m.provider, c.m.name,
		    llm_config_file[0] ? llm_config_file : "~/.config/longhaul/config.json");
		r = LH_LLM_USAGE;
		goto out;
	}
	json_decref(price);
	r = check_server(&c, msg, size);
out:
	free(c.m.name);
	free(c.m.base_url);
	free(c.m.alias);
	free(c.m.key);
	llm_secret = NULL;
	json_decref(c.config);
	if (c.curl)
		curl_easy_cleanup(c.curl);
	return r;
}

static void
print_price(FILE *out, json_t *p)
{
	if (p)
		fprintf(out, "\t%g\t%g\n", json_number_value(json_object_get(p, "input")),
		    json_number_value(json_object_get(p, "output")));
	else
		fputs("\t-\t-\n", out);
}

/* One line per role, alias and priced model: KIND NAME MODEL INPUT OUTPUT
 * (USD per million tokens; - when unpriced). */
int
lh_llm_list(const struct lh_llm_options *opt, FILE *out, char *msg, size_t size)
{
	static const char *const roles[] = { "planner", "worker", "judge" };
	struct lh_llm_options o = *opt;
	json_t *config, *v, *file, *p;
	const char *name, *key;
	char path[4096];
	size_t i;

	if (!(config = llm_load_config(opt->config, msg, size)))
		return LH_LLM_USAGE;
	fprintf(out, "config\t%s\t-\t-\t-\n", llm_config_file[0] ? llm_config_file : "(none)");
	for (i = 0; i < 3 + json_object_size(json_object_get(config, "models")); i++) {
		struct call c;
		char err[512];

		memset(&c, 0, sizeof c);
		c.config = config;
		c.opt = &o;
		c.resolve_only = 1;
		o.role = i < 3 ? roles[i] : opt->role;
		o.model = NULL;
		name = o.role;
		if (i >= 3) {
			size_t k = 3;

			json_object_foreach(json_object_get(config, "models"), key, v)
				if (k++ == i)
					o.model = name = key;
		}
		fprintf(out, "%s\t%s\t", i < 3 ? "role" : "alias", name);
		if (llm_resolve_model(&c, err, sizeof err) < 0)
			fprintf(out, "(%s)\t-\t-\n", err);
		else {
			fprintf(out, "%s:%s", c.m.provider, c.m.name);
			p = llm_price(&c);
			print_price(out, p);
			json_decref(p);
		}
		free(c.m.name);
		free(c.m.base_url);
		free(c.m.alias);
	}
	json_object_foreach(json_object_get(config, "prices"), key, v) {
		fprintf(out, "price\t%s\t%s", key, key);
		print_price(out, v);
	}
	lh_path(path, sizeof path, "%s/prices.json", lh_share_dir());
	if ((file = json_load_file(path, 0, NULL)))
		json_object_foreach(file, key, v)
			if (key[0] != '_' && !json_object_get(json_object_get(config, "prices"), key)) {
				fprintf(out, "price\t%s\t%s", key, key);
				print_price(out, v);
			}
	json_decref(file);
	json_decref(config);
	return LH_LLM_OK;
}
