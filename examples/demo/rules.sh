#!/bin/sh
# Print rules.jsonl, the script llm-mock plays in the demo:
#   sh rules.sh >rules.jsonl
# The first rule that matches a request answers it. Requests are told
# apart by their system prompt (judge, planner, worker), then by what the
# first message says (the planner's area, whether it has published yet),
# the task's title, and the turn (the model's replies so far + 1).
set -eu
judge='You are the judge'
planner='You are a planner in longhaul'
worker='You are a worker on a software project'

# rule MATCH-JSON REPLY-JSON
rule() { jq -cn --argjson m "$1" --argjson r "$2" '{match: $m, reply: $r}'; }
bash_call() { jq -cn --arg c "$1" '{tool_calls: [{name: "bash", arguments: {command: $c}}]}'; }
submit() { jq -cn --arg n "$1" '{tool_calls: [{name: "submit", arguments: {note: $n}}]}'; }
publish() { jq -cn --argjson t "$1" '{tool_calls: [{name: "publish", arguments: {tasks: $t}}]}'; }
match() { # match TURN STRING...
	turn=$1; shift
	jq -cn --argjson t "$turn" '{contains: $ARGS.positional} + (if $t > 0 then {turn: $t} else {} end)' --args "$@"
}

# the judge reads the facts and finds the goal met; judge(1) holds it to the gate
rule "$(match 0 "$judge")" "$(jq -cn '{text: ({decision: "stop", goal_met: true,
	reasons: "Every task of the plan is done and the gate passes on the tip of main.",
	focus: ""} | tojson)}')"

# the root planner: publish four tasks and a planning task for the parser
# (the board is not in the planner's sandbox: it publishes with the
# publish tool, which longhaul-planner's agent-step performs outside)
rule "$(match 1 "$planner" 'Your area: the whole repository' 'You have published no tasks yet')" \
	"$(publish '[
{"title": "Write str_reverse in src/str_reverse.c", "area": "src", "verify": ["make -s test ONLY=str_reverse"], "body": "src/str_reverse.c is a stub. Implement str_reverse as minilib.h describes: reverse the string in place and return it. Check with make test ONLY=str_reverse."},
{"title": "Write str_count_words in src/str_count_words.c", "area": "src", "verify": ["make -s test ONLY=str_count_words"], "body": "src/str_count_words.c is a stub. Implement str_count_words as minilib.h describes. Check with make test ONLY=str_count_words."},
{"title": "Write str_trim in src/str_trim.c", "area": "src", "verify": ["make -s test ONLY=str_trim"], "body": "src/str_trim.c is a stub. Implement str_trim as minilib.h describes. Check with make test ONLY=str_trim."},
{"title": "Write the stack in src/stack.c", "area": "src", "verify": ["make -s test ONLY=stack"], "body": "src/stack.c is a stub. Implement stack_init, stack_push and stack_pop as minilib.h describes. Check with make test ONLY=stack."},
{"title": "Plan the parser in src/parse", "kind": "plan", "area": "src/parse", "body": "The functions of src/parse/ are stubs: parse_int and parse_sum in minilib.h. Plan their implementation."}]')"
rule "$(match 2 "$planner" 'Your area: the whole repository' 'You have published no tasks yet')" \
	"$(submit 'Published four work tasks (str_reverse, str_count_words, str_trim, the stack) and a planning task for src/parse.')"

# the sub-planner of src/parse: two tasks in its area
rule "$(match 1 "$planner" 'Your area: src/parse' 'You have published no tasks yet')" \
	"$(publish '[
{"title": "Write parse_int in src/parse/parse_int.c", "area": "src/parse", "verify": ["make -s test ONLY=parse_int"], "body": "src/parse/parse_int.c is a stub. Implement parse_int as minilib.h describes: the whole string must be an optionally signed decimal integer."},
{"title": "Write parse_sum in src/parse/parse_sum.c", "area": "src/parse", "verify": ["make -s test ONLY=parse_sum"], "body": "src/parse/parse_sum.c is a stub. Implement parse_sum as minilib.h describes, on its own (do not call parse_int, which another worker writes)."}]')"
rule "$(match 2 "$planner" 'Your area: src/parse' 'You have published no tasks yet')" \
	"$(submit 'Published parse_int and parse_sum for src/parse.')"

# a planner woken by a task that ended: nothing more to plan
rule "$(match 1 "$planner" 'Your area: src/parse' 'Tasks you published')" \
	"$(submit 'src/parse: parse_int and parse_sum written by workers; nothing more to plan.')"
rule "$(match 1 "$planner" 'Tasks you published')" \
	"$(submit 'The tasks of the plan ended; nothing more to plan.')"

# worker TITLE FILE NOTE: write the file, test it, then submit
worker() {
	cat >"$tmp"
	rule "$(match 1 "$worker" "$1")" "$(bash_call "cat >$2 <<'C'
$(cat "$tmp")
C
make -s test ONLY=$3")"
	rule "$(match 2 "$worker" "$1")" "$(submit "$4")"
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

worker 'Write str_reverse in' src/str_reverse.c str_reverse \
	'str_reverse swaps characters from both ends in place.' <<'C'
#include <string.h>
#include "minilib.h"

char *
str_reverse(char *s)
{
	size_t i, n = strlen(s);
	char c;

	for (i = 0; i < n / 2; i++) {
		c = s[i];
		s[i] = s[n - 1 - i];
		s[n - 1 - i] = c;
	}
	return s;
}
C
worker 'Write str_count_words in' src/str_count_words.c str_count_words \
	'str_count_words counts the starts of words.' <<'C'
#include "minilib.h"

static int
space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int
str_count_words(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (!space(*s) && (s[1] == 0 || space(s[1])))
			n++;
	return n;
}
C
worker 'Write str_trim in' src/str_trim.c str_trim \
	'str_trim cuts the end, then moves the rest to the front.' <<'C'
#include <string.h>
#include "minilib.h"

static int
space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

char *
str_trim(char *s)
{
	size_t n = strlen(s), start = 0;

	while (n > 0 && space(s[n - 1]))
		s[--n] = 0;
	while (space(s[start]))
		start++;
	memmove(s, s + start, n - start + 1);
	return s;
}
C
worker 'Write the stack in' src/stack.c stack \
	'The stack is an array with a size; push and pop check the bounds.' <<'C'
#include "minilib.h"

void
stack_init(struct stack *st)
{
	st->size = 0;
}

int
stack_push(struct stack *st, int v)
{
	if (st->size == STACK_MAX)
		return -1;
	st->items[st->size++] = v;
	return 0;
}

int
stack_pop(struct stack *st, int *v)
{
	if (st->size == 0)
		return -1;
	*v = st->items[--st->size];
	return 0;
}
C
worker 'Write parse_int in' src/parse/parse_int.c parse_int \
	'parse_int uses strtol and insists on the whole string.' <<'C'
#include <stdlib.h>
#include "minilib.h"

int
parse_int(const char *s, int *out)
{
	char *end;
	long v;

	if (!*s)
		return -1;
	v = strtol(s, &end, 10);
	if (*end)
		return -1;
	*out = (int)v;
	return 0;
}
C
worker 'Write parse_sum in' src/parse/parse_sum.c parse_sum \
	'parse_sum reads one strtol number per comma-separated item.' <<'C'
#include <stdlib.h>
#include "minilib.h"

int
parse_sum(const char *s, int *out)
{
	const char *p = s;
	char *end;
	int sum = 0;

	for (;;) {
		if (*p == ',' || *p == 0)
			return -1;
		sum += (int)strtol(p, &end, 10);
		if (end == p)
			return -1;
		if (*end == 0)
			break;
		if (*end != ',')
			return -1;
		p = end + 1;
	}
	*out = sum;
	return 0;
}
C
