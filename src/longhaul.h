/* longhaul.h: the one header of liblonghaul, the code the tools share.
 * Names start with lh_. Split by subject:
 *   lh-util.c   errors, memory, strings, UTF-8, ids, files written safely
 *   lh-board.c  the board protocol: task records, compare-and-swap, indexes
 *   lh-wait.c   waiting for the board to change (inotify, polling fallback)
 *   lh-git.c    running git on a repository (argv only, never a shell)
 *   lh-cycle.c  the cycles of a run (BOARD/cycles/), for reports
 *   lh-http.c   reading the HTTP requests of local clients (llm-forward, llm-mock)
 *   lh-llm.c    the model client (OpenAI and Anthropic wire formats)
 *   lh-tools.c  the tools a harness performs for an agent, outside its sandbox
 *   lh-transcript.c  an agent's transcript, the worktree's hash, stuck detection
 */
#ifndef LONGHAUL_H
#define LONGHAUL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>

/* ---- lh-util.c ---- */
extern const char *lh_prog;              /* set from argv[0] by lh_init */
void lh_init(int argc, char **argv);
void lh_die(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
void lh_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* like lh_warn/lh_die, with ": strerror(errno)" appended */
void lh_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lh_die_errno(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
void *lh_malloc(size_t n);
void *lh_realloc(void *p, size_t n);
char *lh_strdup(const char *s);
/* snprintf into a fixed buffer; dies naming what on truncation */
void lh_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int lh_utf8_valid(const char *s, size_t n);
/* Text anybody may have written, made one line for a terminal, in place:
 * control characters become '?', and so does every byte past ASCII when
 * s is not valid UTF-8. */
void lh_printable(char *s);
/* read a whole file or stream; NUL-terminated; NULL and errno on error */
char *lh_read_file(const char *path, size_t *len);
int lh_mkdirs(const char *path);         /* mkdir -p: 0, or -1 and errno */
double lh_file_clock(const char *path);  /* the file system's now (touch + mtime), -1 */
double lh_jitter(void);                  /* in [0, 1), for random pauses */
char *lh_read_stream(FILE *f, size_t *len);
/* random bytes as [0-9a-z] */
void lh_random_name(char *buf, size_t n);
const char *lh_hostname(void);
/* write and close stdout, dying on error (full disk is an error) */
void lh_close_stdout(void);
 /* --help anywhere in argv prints manual and exits 0 */
/* at the top of every main: -h, --help (print manual), --version; sets lh_prog */
void lh_std_options(int argc, char **argv, const char *manual);
/* the directory of prompts/ and prices.json (see lh-util.c) */
const char *lh_share_dir(void);
void lh_usage(const char *usage) __attribute__((noreturn));
double lh_now(void);                       /* CLOCK_REALTIME seconds */
double lh_monotonic(void);
/* started by a worker ($LONGHAUL_PID): die (SIGTERM) when the parent
 * dies, or now when the owner is gone already */
void lh_die_with_parent(void);
void lh_iso_time(double t, char *buf, size_t size);  /* 2026-11-27T19:46:55Z */
/* exit statuses shared by the board tools (documented in longhaul(7)) */
enum {
	LH_OK = 0,
	LH_NOTHING = 1,     /* nothing to claim / no such match */
	LH_USAGE = 2,       /* usage or invalid input */
	LH_CONFLICT = 3,    /* stale version, fenced token, wrong state */
	LH_NOTFOUND = 4,    /* no such task */
	LH_BADBOARD = 5,    /* board missing, newer format, corrupt record */
	LH_SYSERR = 6,      /* I/O or system error */
};

/* ---- lh-board.c: the board protocol (see longhaul-board(5)) ---- */
#define LH_BOARD_FORMAT 2     /* of the layout; 1 had hints without @N */
#define LH_RECORD_FORMAT 1    /* of the task records */
#define LH_ID_MAX 64
/* A hint numbered past its task's version, or a file of tmp/, older than
 * this by the file server's clock is a dead tool's: board-reap -f and
 * board-fsck remove it (a live tool's is as old as a pause between two
 * of its system calls). */
#define LH_STALE_SECONDS 3600
struct lh_board {
	char dir[3072];
	int fsync;              /* fsync files and directories (default on) */
};
/* Open the board named by dir, or $LONGHAUL_BOARD, or ./.longhaul; dies
 * with LH_BADBOARD when it is missing or of a newer format. */
void lh_board_open(struct lh_board *b, const char *dir);
int lh_board_init(const char *dir);
/* NULL when id is a valid task id, else the reason */
const char *lh_id_check(const char *id);
/* The same rules for any name on the board (a queue, a cycle): NULL, or
 * the reason without its subject ("may hold only ...") */
const char *lh_name_check(const char *s);
/* Read the current record of a task. Returns it (the caller owns it) and
 * its version; NULL with *status LH_NOTFOUND, LH_BADBOARD or LH_SYSERR
 * (reason printed when complain is 1; when 2, unless LH_NOTFOUND). */
json_t *lh_task_read(struct lh_board *b, const char *id, int *version,
    int *status, int complain);
/* Is rec a sound version v of task id (format, id, version, state,
 * title, kind work or plan, a claim's lease token)? NULL, or the reason.
 * lh_task_read refuses what it refuses, and board-fsck reports it. */
const char *lh_record_check(json_t *rec, const char *id, int v);
/* Every version of a task, oldest first, as a JSON array. */
json_t *lh_task_history(struct lh_board *b, const char *id, int *status);
/* Compare-and-swap: write rec as version expected+1 if and only if the
 * current version is still expected (0 for a new task). Sets "version" and
 * "updated" in rec. LH_OK (the version is linked; a failed fsync after
 * the link is a warning only), LH_CONFLICT or LH_SYSERR (printed; nothing
 * was written). */
int lh_task_cas(struct lh_board *b, const char *id, int expected, json_t *rec);
/* Create dest holding text if and only if it does not exist: written to
 * tmp/, then link()ed; when link reports any error, judged by looking:
 * ours if dest has our inode, LH_CONFLICT if it exists with another,
 * LH_SYSERR (printed) if it does not exist. */
int lh_create_exclusive(struct lh_board *b, const char *dest, const char *text);
/* The duplicate guard: take the (area, title) of rec for its id, or
 * LH_CONFLICT (said, prefixed by where) when a task not failed has it, or
 * a publisher that took it less than 600 s ago (server's clock) has not
 * written its task yet; LH_SYSERR (printed). */
int lh_title_take(struct lh_board *b, json_t *rec, const char *where);
/* Give the (area, title) of rec back, if rec's id holds it (a marker
 * names/HASH.G.dropped; names are never removed). */
void lh_title_drop(struct lh_board *b, json_t *rec);
/* The shard of a task id: tasks/SHARD/ID and ready/KIND/PRIO/SHARD/, as
 * two hex digits (%02x). */
unsigned lh_shard(const char *id);
/* The title's hash and the path of its generation gen (1, 2, ...) with
 * suffix ("" or ".dropped"): names/HASH, names/HASH.2, ... */
uint64_t lh_title_hash(json_t *rec);
void lh_title_path(struct lh_board *b, uint64_t hash, int gen, const char *suffix,
    char *buf, size_t size);
/* Does generation gen of the title hash still hold it? Its owner's id into
 * owner. 1 live, 0 dead (dropped, its task failed, or gone or renamed and
 * the name older than 600 s by the server's clock), -1 (printed). */
int lh_title_live(struct lh_board *b, uint64_t hash, int gen, char *owner, size_t size);
/* Index hints are named ID@N: N is the version they were made for, or in
 * claimed/ the claim's token; ID alone is a hint of board format 1 (N 0).
 * Parse a hint's file name: 0, or -1 when it is not one. */
int lh_hint_parse(const char *name, char *id, size_t size, int *number);
/* The path of the hint rec wants, its dependencies done or not, or ""
 * when its state has none. */
void lh_hint_path(struct lh_board *b, json_t *rec, int deps_done, char *buf, size_t size);
/* Make the hint rec wants (a claimant does, before its claim's link):
 * LH_OK or LH_SYSERR (printed). */
int lh_hint_make(struct lh_board *b, json_t *rec);
/* Bring the index hints (ready/, waiting/, claimed/) in line with rec just
 * written, removing those of old (may be NULL) once rec's is made. Best
 * effort: the record is truth. */
void lh_task_reindex(struct lh_board *b, json_t *old, json_t *rec);
/* Mend the index after finding the hint found (may be NULL) for rec, read
 * as current: make the hint rec wants, then remove found if it is another
 * and was made for rec's version or an older one (never one past it: a
 * claim in flight). 1 when it made or removed a hint, else 0. */
int lh_task_mend(struct lh_board *b, json_t *rec, const char *found);
/* Are all of rec's dependencies done? */
int lh_task_deps_done(struct lh_board *b, json_t *rec);
/* The id of a dependency of rec that failed for good, or NULL. */
const char *lh_task_deps_failed(struct lh_board *b, json_t *rec);
/* Promote waiting tasks whose dependencies are now done, and fail for good
 * (reason "dependency ID failed") those with a dependency failed for good,
 * and theirs in turn. */
void lh_board_promote(struct lh_board *b);
/* The file server's idea of now: mtime of a file just touched. */
double lh_board_clock(struct lh_board *b);
/* Seconds since the file of version v was written or heartbeat-touched,
 * by the file server's clock; -1 on error. */
double lh_task_age(struct lh_board *b, const char *id, int v, double now);
/* Touch the file of version v (heartbeat): LH_OK, LH_CONFLICT if v is no
 * longer current, LH_SYSERR. */
int lh_task_touch(struct lh_board *b, const char *id, int v);
/* Call fn for every task id on the board; stops when fn returns nonzero. */
int lh_board_each(struct lh_board *b, int (*fn)(const char *id, void *arg),
    void *arg);
/* Every task id on the board, sorted (oldest first); free each and the
 * array. */
char **lh_board_ids(struct lh_board *b, size_t *n);
/* The identity of this process for records: {"host","pid","agent"} */
json_t *lh_whoami(void);
#define LH_TITLE_MAX 300
#define LH_AREA_MAX 128
#define LH_BODY_MAX (256 * 1024)
#define LH_NOTE_MAX (64 * 1024)
#define LH_VERIFY_MAX 32
#define LH_COMMAND_MAX 4096
/* Check the fields a user gives for a task (title, body, kind, priority,
 * parent, area, deps, verify, max_attempts, id): types, lengths, UTF-8,
 * that parent and deps exist, and that the area is within LONGHAUL_AREA.
 * LH_OK, or the status with the reason printed, prefixed by where. */
int lh_task_fields_check(struct lh_board *b, json_t *in, const char *where,
    int need_title);
/* Check a string field of a record from outside: valid UTF-8, at most max
 * bytes. NULL when fine, else the reason. */
const char *lh_field_check(const char *s, size_t max);

/* ---- lh-turn.c: turns, a fair queue of at most N at a time ---- */
/* Join the queue in dir (made if missing) and wait to be among the first
 * limit admitted; pid is the process whose death on this host ends the
 * turn at once, lease the seconds an entry lives untouched. deadline is
 * an lh_monotonic() time, 0 for none. The entry's path is kept in path
 * (for a signal handler to remove). 0 admitted, 1 deadline passed, -1
 * system error (errno). */
int lh_turn_take(const char *dir, int limit, double lease, double deadline,
    long pid, char *path, size_t size);
/* The same, for a turn owned by another process than the one waiting:
 * the waiting entry names waiter, the admitted one owner. */
int lh_turn_take_for(const char *dir, int limit, double lease, double deadline,
    long waiter, long owner, char *path, size_t size);
/* Leave every entry of the queue in dir that names owner on this host,
 * held or waiting (its waiter died untold): how many, or -1. */
int lh_turn_drop(const char *dir, long owner);
/* Leave the queue (unlink): 0, or -1 with ENOENT when the entry was
 * judged stale and removed by another. */
int lh_turn_give(const char *path);
/* Keep an admitted entry alive for another lease. */
int lh_turn_touch(const char *path);
/* The pid that owns what a tool does: $LONGHAUL_PID, else its parent. */
long lh_owner_pid(void);

/* ---- lh-sandbox.c: where commands that agents wrote run ---- */
enum { LH_SANDBOX_OFF, LH_SANDBOX_ON, LH_SANDBOX_NET };
/* $LONGHAUL_SANDBOX: on (the default), net (on, with the host's
 * network) or off; -1 (said) on anything else */
int lh_sandbox_mode(void);
/* The environment for a sandboxed command: the allow-list's variables
 * found in ours, HOME and TMPDIR set to /tmp (unless off), and extra:
 * NAME passes ours, NAME=VALUE sets it. Free the array only. */
char **lh_sandbox_env(int mode, char *const extra[], size_t nextra);
/* argv running cmd in the sandbox with dir writable (bwrap ...), or cmd
 * itself when mode is off; free with lh_sandbox_free */
char **lh_sandbox_argv(int mode, const char *dir, char *const cmd[]);
void lh_sandbox_free(char **argv);
/* In the child, just before it execs the sandbox (unless mode is off):
 * close every descriptor above 2, so that none of ours gets in */
void lh_sandbox_close_fds(int mode);
/* 0 when the sandbox starts here for dir, else -1 and the one-line
 * reason in err */
int lh_sandbox_probe(int mode, const char *dir, char *err, size_t size);
/* the path of a program in $PATH (malloc'd), NULL if none */
char *lh_find_program(const char *name);
/* lh_sandbox_argv with the paths of ro and rw (NULL-terminated, may be
 * NULL) bound too, read-only or writable, at their real paths */
char **lh_sandbox_argv_binds(int mode, const char *dir, char *const ro[], char *const rw[],
    char *const cmd[]);

/* ---- lh-tools.c: tools the harness performs for an agent ---- */
/* The command of a tool of a tools file (agent-step(1) -x) filled with the
 * model's arguments args: its words, each "{name}" the value of an
 * argument as one word, a group (an array of words) kept only when all
 * its placeholders have values, argv[0] found in PATH; *input the text
 * for its stdin ("stdin" names the argument: each element, or it, as a
 * JSON line, without the fields "drop" names) or NULL. NULL when an
 * argument is missing, with its name in *missing (malloc'd). Free the
 * words and the array (lh_sandbox_free). */
char **lh_tool_argv(json_t *spec, json_t *args, char **input, char **missing);
/* The environment of such a tool: the sandbox's allow-list (HOME too),
 * LONGHAUL_TASK, _AGENT, _CYCLE and _PID, and pass (NAME or NAME=VALUE,
 * as -e gives them); never a key unless pass names it. Free the array. */
char **lh_tool_env(char *const pass[], size_t npass);

/* ---- lh-transcript.c: an agent's transcript (agent-step(1), engine-run(1)) ---- */
/* Parse text[0..len) into objects appended to into: an incomplete last
 * line (a crash mid-write) is dropped, *keep says where the whole lines
 * end (with err saying so). 0, or -1 with the reason (line number and
 * what is wrong) in err. */
int lh_transcript_parse(char *text, size_t len, json_t *into, size_t *keep, char *err,
    size_t errsize);
/* Open path (created if missing), locked against a second agent, and
 * read it into *lines (a new array); a last line cut by a crash is said
 * and cut off. The descriptor for lh_transcript_append; dies with status. */
int lh_transcript_open(const char *path, json_t **lines, int status);
/* Append o (stolen) to fd and to lines as a line of type, with "time"
 * unless it has one, in one write, fsynced when sync; dies with status. */
void lh_transcript_append(int fd, const char *path, int sync, json_t *lines, const char *type,
    json_t *o, int status);
const char *lh_json_str(json_t *o, const char *key);   /* o[key], "" when not a string */
int lh_line_is(json_t *o, const char *type);           /* a line of this type */
/* a user line that starts a stretch (the task, feedback): not an
 * observation, not a format error */
int lh_line_fresh_user(json_t *o);
/* s[0..n) as valid UTF-8 without NULs, each bad byte U+FFFD (malloc'd) */
char *lh_text_clean(const char *s, size_t n);
/* a file (- for stdin) as lh_text_clean text; dies with status */
char *lh_text_read(const char *path, int status);
/* 64-bit FNV-1a (16 hex digits, a static buffer) of what git sees in dir:
 * HEAD, the index, the contents of changed and untracked files; git run
 * with no hooks, no fsmonitor, an allow-listed environment. NULL when
 * git cannot be run. */
const char *lh_tree_hash(const char *dir);
/* Stuck: the same action.command, or the same failing output ("exit"
 * not 0), repeats times in a row since the last fresh user line (an
 * assistant line without a command ends a run when text_breaks); or
 * unchanged results in a row whose "tree" stayed the same (0: off). 1
 * with the reason in why, else 0. */
int lh_transcript_stuck(json_t *lines, long repeats, long unchanged, int text_breaks,
    char *why, size_t size);
/* The task's first user message (malloc'd): id, title, body and the
 * verification commands; NULL when out of memory. */
char *lh_task_message(json_t *task);
/* A count limit as a long: below 0 -1, past 1e15 1e15 (no limit, never
 * undefined behaviour) */
long lh_limit_whole(double v);
/* s as a limit (a number >= 0) into *d and *l (either may be NULL): 0,
 * or -1 when it is not one */
int lh_limit_parse(const char *s, double *d, long *l);
/* The "limits" of the task file at task_path (steps, seconds, tokens,
 * usd), each set only where it is still < 0 (no option gave it) */
void lh_task_limits(const char *task_path, long *steps, long *seconds, double *tokens, double *usd);

/* ---- lh-wait.c: the bell: telling waiters that the board changed ---- */
/* Tell waiters on every host that something changed (lh-wait.c). */
void lh_board_ring(struct lh_board *b);
/* Remember a hint this process made, for the next ring to name (only
 * ready hints are kept; others are ignored). */
void lh_bell_note(struct lh_board *b, const char *hint);
/* Wait until the bell rings or timeout seconds pass: 1 rung, 0 not. A
 * ring on another host is seen within LH_BELL_POLL (0.25 s) plus a read,
 * whatever the client caches; one on this host at once (inotify). The
 * first call starts with the last 16 rings before it, so that what was
 * rung just before the waiter came is named too. */
int lh_wait_bell(struct lh_board *b, double timeout);
/* The ready hints named by the rings the last lh_wait_bell saw, one a
 * line, relative to the board ("" when none). */
const char *lh_bell_news(void);

/* ---- lh-cycle.c: the cycles of a run, BOARD/cycles/CYCLE.json ---- */
struct lh_cycle {
	char name[64];          /* CYCLE, the file's name without .json */
	double started;         /* seconds since the epoch */
	double usd_at_start, tokens_at_start;   /* the usage logs' totals then */
	char state[16];         /* running, judged, ...; "?" when missing */
};
/* The cycles in dir (BOARD/cycles), oldest start first; files that are
 * not regular, not JSON or without a numeric "started" are skipped.
 * NULL and *n 0 when there are none; free the array. */
struct lh_cycle *lh_cycles_load(const char *dir, size_t *n);
/* The cycle running at time t: the last one started at or before it, or
 * NULL. */
const struct lh_cycle *lh_cycle_at(const struct lh_cycle *cycles, size_t n, double t);

/* ---- lh-git.c: running git on a repository named on the command line ---- */
/* Start git -C repo with args (NULL-terminated), without a shell; stdin
 * /dev/null; its stdout on *out when out is not NULL (read it to the end
 * and fclose it before lh_git_wait), else on /dev/null; its stderr on
 * /dev/null when quiet, else ours. The variables that would point git at
 * another repository (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, ...) are
 * not passed on. Its pid, or -1 (errno) when it cannot be started. */
pid_t lh_git_start(const char *repo, const char *const args[], FILE **out, int quiet);
/* Wait for it: its exit status, or -1 when it was killed (or no child). */
int lh_git_wait(pid_t pid);
/* Start and wait, stdout discarded: its exit status, or -1 when it could
 * not be started or was killed. */
int lh_git_run(const char *repo, const char *const args[], int quiet);

/* ---- lh-http.c: the HTTP/1.1 requests of local clients ---- */
struct lh_http_request {
	char method[16], path[2048];
	char *head;             /* request line and headers as sent, each line
	                         * ending in CRLF (the blank line not kept) */
	char *body;             /* Content-Length bytes, NUL-terminated */
	size_t bodylen;
};
/* Read one request from the socket fd: a head of at most 1 MiB without a
 * NUL, a request line METHOD TARGET HTTP/1.x, a body of Content-Length
 * bytes (none without one) of at most max_body; Expect: 100-continue is
 * answered. 0, or -1 with nothing kept when the connection ends first or
 * the request is malformed, too large or has a Transfer-Encoding. */
int lh_http_read(int fd, struct lh_http_request *rq, size_t max_body);
void lh_http_free(struct lh_http_request *rq);
/* The value of the header name (any case) in head, its length up to the
 * CRLF in *len when len is not NULL; NULL when there is none. */
const char *lh_http_header(const char *head, const char *name, size_t *len);
/* Send all of s on the socket fd, without SIGPIPE: 0, or -1. */
int lh_http_write_all(int fd, const char *s, size_t n);

/* ---- lh-llm.c: the model client ---- */
/* exit statuses of llm-call, returned by lh_llm_call */
enum {
	LH_LLM_OK = 0,
	LH_LLM_TEMPORARY = 1,   /* still failing after every retry: try later */
	LH_LLM_USAGE = 2,       /* bad options, config or request */
	LH_LLM_PERMANENT = 3,   /* 400/401/403/404, spend limit, no key */
	LH_LLM_INCOMPLETE = 4,  /* the stream ended early: partial reply */
	LH_LLM_BUDGET = 5,      /* budget spent: nothing was sent */
	LH_LLM_INVALID = 6,     /* structured reply does not match the schema */
};
struct lh_llm_options {
	const char *role;       /* planner, worker, judge; NULL: none */
	const char *model;      /* alias or provider:model; NULL: the role's */
	const char *config;     /* NULL: $LONGHAUL_CONFIG or the board's */
	const char *base_url;   /* NULL: from the config or the environment */
	int stream;             /* ask for a streamed reply */
	int max_attempts;       /* 0: $LONGHAUL_MAX_ATTEMPTS or 6 */
	double deadline;        /* seconds for all attempts; 0: $LONGHAUL_DEADLINE or none */
	double idle_timeout;    /* 0: $LONGHAUL_IDLE_TIMEOUT or 120 */
	int verbose;            /* trace to stderr, with the key redacted */
	/* each piece of reply text as it arrives, for streaming to a user */
	void (*on_text)(const char *text, size_t len, void *arg);
	void *on_text_arg;
};
/* Send one normalized request (see llm-call(1)) and wait for the reply.
 * *response is always set to a normalized response; on failure it holds
 * "error" and whatever partial reply there was. Returns an LH_LLM_ code. */
int lh_llm_call(const struct lh_llm_options *opt, json_t *request, json_t **response);
/* Pre-flight of the model a call would use (options as for lh_llm_call):
 * it resolves, has a key, has a price when LONGHAUL_BUDGET_USD is set,
 * and its server answers its models endpoint and offers it. Nothing is
 * spent. An LH_LLM_ code; msg says what was checked, or what failed. */
int lh_llm_check(const struct lh_llm_options *opt, char *msg, size_t size);
/* The roles, aliases and prices as lines KIND NAME MODEL INPUT OUTPUT. */
int lh_llm_list(const struct lh_llm_options *opt, FILE *out, char *msg, size_t size);
/* the usage log directory ($LONGHAUL_BOARD/usage, else the state dir's),
 * created if missing; -1 on error */
int lh_llm_usage_dir(char *buf, size_t size);
/* total tokens and cost over every usage log in dir, reading only what
 * was appended since the cached sums */
int lh_llm_usage_total(const char *dir, uint64_t *tokens, double *cost_usd);
/* check value against a JSON Schema (the common subset); 0 if it holds,
 * else -1 with the first violation in err */
int lh_llm_schema_check(json_t *schema, json_t *value, char *err, size_t size);

#endif
