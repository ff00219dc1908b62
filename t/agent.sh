# t/agent.sh: fixtures for the agent-step and longhaul-worker tests,
# sourced after t/lib.sh: a scripted model (llm-mock), a small project in
# a bare repository, a board.
command -v llm-mock >/dev/null && command -v llm-call >/dev/null ||
	skip_all "llm-call and llm-mock are not built"
command -v jq >/dev/null || skip_all "jq is missing"
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.invalid
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME="$TRASH"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

# the scripted model (start_mock, from t/lib.sh) answers for every role
export LONGHAUL_MODEL=openai:mock

# make_project: $TRASH/remote.git, a bare repository with a small project
make_project() {
	git init -q "$TRASH/seed"
	(cd "$TRASH/seed" &&
	 printf 'one\ntwo\nthree\n' >list.txt &&
	 printf 'a small project\n' >README &&
	 git add . && git commit -qm "the start")
	git clone -q --bare "$TRASH/seed" "$TRASH/remote.git"
}

# remote_show REV:PATH
remote_show() { git --git-dir="$TRASH/remote.git" show "$1"; }
