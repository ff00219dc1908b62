/* llm-call: one request to a language model from the shell.
 *
 * A thin command over lh_llm_call(): it builds the normalized request
 * from the operands (or takes a whole conversation with -C), streams the
 * reply's text to stdout as it arrives (or prints the normalized
 * response as one JSON line with -j), and exits with lh_llm_call's
 * status, which scripts branch on (see EXIT STATUS in llm-call(1)).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "longhaul.h"

static const char help[] =
"usage: llm-call [-CjNv] [-r role] [-m model] [-s system] [-c config] [-u base_url]\n"
"                [-t deadline] [-a attempts] [-i idle] [-M max_tokens] [-S schema] [prompt ...]\n"
"       llm-call -p [-r role] [-m model] [-c config] [-u base_url]\n"
"       llm-call -l [-c config]\n"
"  -r role      planner, worker or judge: picks the role's model\n"
"  -m model     provider:model (openai:gpt-4o-mini), an alias of the config,\n"
"               or a model whose provider its name tells (gpt-*, claude-*)\n"
"  -p           pre-flight: check the model, key, price and server; send nothing\n"
"  -l           list the roles' models, the config's aliases and the prices\n"
"  -s system    the system prompt\n"
"  -C           stdin is a whole normalized conversation (JSON)\n"
"  -j           print the normalized response as one JSON line\n"
"  -N           do not stream\n"
"  -c config    the config file\n"
"  -u base_url  the server's base URL\n"
"  -t seconds   deadline for all attempts\n"
"  -a attempts  at most this many attempts\n"
"  -i seconds   give up on a connection silent this long\n"
"  -M tokens    max_tokens of the reply\n"
"  -S schema    a JSON Schema (file, or inline JSON) the reply must match\n"
"  -v           trace the exchange on stderr (the key redacted)\n"
"An operand - stands for stdin; with no operands stdin is the prompt.\n"
"Config: -c, $LONGHAUL_CONFIG, else ~/.config/longhaul/config.json.\n"
"Exit: 0 ok, 1 temporary failure, 2 usage, 3 permanent error, 4 incomplete\n"
"reply, 5 budget spent, 6 reply does not match the schema.\n";

static void
usage(void)
{
	fputs("usage: llm-call [-CjNv] [-r role] [-m model] [-s system] [-S schema] [prompt ...]\n"
	    "       llm-call -p|-l [-r role] [-m model] [-c config]\n", stderr);
	exit(LH_LLM_USAGE);
}

static void
print_text(const char *s, size_t n, void *arg)
{
	int *last = arg;

	if (fwrite(s, 1, n, stdout) != n || fflush(stdout) != 0)
		lh_die_errno(LH_LLM_TEMPORARY, "stdout");
	*last = (unsigned char)s[n - 1];
}

static char *
read_stdin(void)
{
	char *s = lh_read_stream(stdin, NULL);

	if (!s)
		lh_die_errno(LH_LLM_USAGE, "stdin");
	return s;
}

static char *
join_prompt(int argc, char **argv)
{
	size_t len = 1;
	char *p, *in = NULL;
	int i;

	if (argc == 0)
		return read_stdin();
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-") && !in)
			in = read_stdin();
		len += strlen(!strcmp(argv[i], "-") ? in : argv[i]) + 1;
	}
	p = lh_malloc(len);
	p[0] = 0;
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(p, " ");
		strcat(p, !strcmp(argv[i], "-") ? in : argv[i]);
	}
	free(in);
	return p;
}

static json_t *
load_schema(const char *arg)
{
	json_error_t jerr;
	json_t *s;

	s = arg[0] == '{' ? json_loads(arg, 0, &jerr) : json_load_file(arg, 0, &jerr);
	if (!s || !json_is_object(s))
		lh_die(LH_LLM_USAGE, "%s: %s", arg[0] == '{' ? "-S" : arg, s ? "not a JSON object" : jerr.text);
	return s;
}

int
main(int argc, char **argv)
{
	struct lh_llm_options o = { .stream = 1 };
	const char *system = NULL, *schema = NULL;
	int c, json_out = 0, conversation = 0, status, last = '\n', check = 0, list = 0;
	long max_tokens = 0;
	json_t *rq, *resp;
	json_error_t jerr;
	char *s, *end;

	lh_std_options(argc, argv, help);
	while ((c = getopt(argc, argv, "+r:m:s:CjNc:u:t:a:i:M:S:vpl")) != -1)
		switch (c) {
		case 'r': o.role = optarg; break;
		case 'm': o.model = optarg; break;
		case 's': system = optarg; break;
		case 'C': conversation = 1; break;
		case 'j': json_out = 1; break;
		case 'N': o.stream = 0; break;
		case 'c': o.config = optarg; break;
		case 'u': o.base_url = optarg; break;
		case 't':
			if ((o.deadline = strtod(optarg, &end)) <= 0 || *end)
				lh_die(LH_LLM_USAGE, "-t %s: not a number of seconds", optarg);
			break;
		case 'a':
			if ((o.max_attempts = strtol(optarg, &end, 10)) <= 0 || *end)
				lh_die(LH_LLM_USAGE, "-a %s: not a positive number", optarg);
			break;
		case 'i':
			if ((o.idle_timeout = strtod(optarg, &end)) <= 0 || *end)
				lh_die(LH_LLM_USAGE, "-i %s: not a number of seconds", optarg);
			break;
		case 'M':
			if ((max_tokens = strtol(optarg, &end, 10)) <= 0 || *end)
				lh_die(LH_LLM_USAGE, "-M %s: not a positive number", optarg);
			break;
		case 'S': schema = optarg; break;
		case 'v': o.verbose = 1; break;
		case 'p': check = 1; break;
		case 'l': list = 1; break;
		default: usage();
		}
	argc -= optind;
	argv += optind;
	if (check || list) {
		char msg[1024] = "";

		if (argc || (check && list))
			usage();
		status = check ? lh_llm_check(&o, msg, sizeof msg) : lh_llm_list(&o, stdout, msg, sizeof msg);
		if (status == 0 && check)
			printf("%s%s%s\n", o.role ? o.role : "", o.role ? ": " : "", msg);
		else if (status)
			lh_warn("%s%s%s", o.role ? o.role : "", o.role ? ": " : "", msg);
		lh_close_stdout();
		return status;
	}

	/* the key in our memory and environ stays ours */
	prctl(PR_SET_DUMPABLE, 0);
	if (conversation) {
		if (argc)
			usage();
		s = read_stdin();
		if (!(rq = json_loads(s, 0, &jerr)) || !json_is_object(rq))
			lh_die(LH_LLM_USAGE, "stdin:%d:%d: %s", jerr.line, jerr.column,
			    rq ? "not a JSON object" : jerr.text);
		free(s);
	} else {
		s = join_prompt(argc, argv);
		if (!lh_utf8_valid(s, strlen(s)))
			lh_die(LH_LLM_USAGE, "prompt: not valid UTF-8");
		rq = json_pack("{s:[{s:s,s:s}]}", "messages", "role", "user", "content", s);
		free(s);
	}
	if (system)
		json_object_set_new(rq, "system", json_string(system));
	if (max_tokens)
		json_object_set_new(rq, "max_tokens", json_integer(max_tokens));
	if (schema)
		json_object_set_new(rq, "schema", load_schema(schema));
	if (!json_out && o.stream) {
		o.on_text = print_text;
		o.on_text_arg = &last;
	}

	status = lh_llm_call(&o, rq, &resp);
	if (json_out) {
		s = json_dumps(resp, JSON_COMPACT | JSON_REAL_PRECISION(15));
		puts(s);
		free(s);
	} else {
		const char *text = json_string_value(json_object_get(resp, "text"));
		size_t n = json_string_length(json_object_get(resp, "text"));

		if (!o.on_text && n) {
			fwrite(text, 1, n, stdout);
			last = (unsigned char)text[n - 1];
		}
		if (last != '\n')
			putchar('\n');
	}
	if (status && json_object_get(resp, "error"))
		lh_warn("%s", json_string_value(json_object_get(resp, "error")));
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0)
		lh_die_errno(LH_LLM_TEMPORARY, "stdout");
	json_decref(rq);
	json_decref(resp);
	return status;
}
