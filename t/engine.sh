# t/engine.sh: fixtures for the tests of agent CLIs as engines (t/15xx),
# sourced after t/lib.sh and t/agent.sh: where mk/engines put the CLIs,
# and whether each one can run here. The tests skip an engine, with its
# reason, when it cannot be installed or run; they never fail for that.
REAL_HOME=${REAL_HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
engines_dir=${LONGHAUL_ENGINES_DIR:-${XDG_CACHE_HOME:-$REAL_HOME/.cache}/longhaul/engines}
[ ! -d "$engines_dir/node_modules/.bin" ] || PATH="$PATH:$engines_dir/node_modules/.bin"
export PATH

# engine_skip ENGINE: why ENGINE cannot run here ("" when it can)
engine_skip() {
	command -v bwrap >/dev/null 2>&1 || { echo "bwrap is not installed"; return; }
	bwrap --unshare-net --unshare-pid --die-with-parent --ro-bind / / --proc /proc --dev /dev true \
	    >/dev/null 2>&1 || { echo "bwrap cannot make namespaces here"; return; }
	if ! command -v "$1" >/dev/null 2>&1; then
		if [ -f "$engines_dir/why" ]; then echo "$1 is not installed: $(head -n 1 "$engines_dir/why")"
		else echo "$1 is not installed (sh mk/engines installs it)"; fi
		return
	fi
	"$1" --version >/dev/null 2>&1 || echo "$1 --version fails"
}

# the model each engine's provider is asked for
engine_model() { case $1 in claude) echo anthropic:claude-sonnet-4-5 ;; codex) echo openai:gpt-5-codex ;; esac; }
# the file-changing tool call of each engine, as a llm-mock tool_calls list
# engine_write ENGINE FILE TEXT (FILE relative to the worktree)
engine_write() {
	case $1 in
	claude) printf '[{"name":"Write","arguments":{"file_path":"%s","content":"%s\\n"}}]' "$TRASH/work/$agent/tree/$2" "$3" ;;
	codex) printf '[{"name":"exec_command","arguments":{"cmd":"printf \\"%%s\\\\n\\" \\"%s\\" >%s"}}]' "$3" "$2" ;;
	esac
}
# engine_shell ENGINE COMMAND: a shell tool call (COMMAND JSON-escaped)
engine_shell() {
	case $1 in
	claude) printf '[{"name":"Bash","arguments":{"command":"%s","description":"run"}}]' "$2" ;;
	codex) printf '[{"name":"exec_command","arguments":{"cmd":"%s"}}]' "$2" ;;
	esac
}
engine_api() { case $1 in claude) echo anthropic ;; codex) echo responses ;; esac; }
