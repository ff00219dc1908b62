#!/bin/sh
# cache-probe.sh: what one client of a shared directory sees of a change
# made through another client's mount, and how late. Two sshfs mounts of
# one directory (t/hosts.sh, default options); mount A changes a name,
# mount B looks at it, and the time until B sees the change is printed
# (to 20 ms; "never" after 45 s). B has looked just before the change, so
# whatever B caches is warm. The numbers are in doc/cluster.md, "What a
# client's cache hides, measured". Not a test: it prints, it judges
# nothing; it needs sshd, sshfs and /dev/fuse, and says so when missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
T_DIR=$(cd "$here/.." && pwd)
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/cache-probe.XXXXXX")
t_cleanups=
at_exit() { t_cleanups="$t_cleanups $1;"; }
trap 'eval "$t_cleanups"; rm -rf "$TRASH"' EXIT
trap 'exit 130' INT TERM
skip_all() { echo "cache-probe: skipped: $1"; exit 0; }
wait_for() {
	limit=$1; shift
	end=$(( $(date +%s) + limit ))
	while ! eval "$1"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.05; done
}
. "$T_DIR/ssh.sh"
. "$T_DIR/hosts.sh"
start_hosts 2
A=$TRASH/host1 B=$TRASH/host2
ms() { date +%s%3N; }
# seen WHAT 'condition on B': the time until it holds
seen() {
	t0=$(ms)
	while ! eval "$2"; do
		[ $(( $(ms) - t0 )) -lt 45000 ] || { printf '%-58s never (45 s)\n' "$1"; return; }
		sleep 0.02
	done
	printf '%-58s %6d ms\n' "$1" $(( $(ms) - t0 ))
}
mtime_fd() { python3 -c 'import os, sys; print(os.fstat(os.open(sys.argv[1], os.O_RDONLY)).st_mtime_ns)' "$1"; }
k=0
fresh() { k=$((k + 1)); D=$A/d$k E=$B/d$k; mkdir "$D"; }

echo "sshfs $(sshfs --version 2>&1 | sed -n 's/^SSHFS version //p'), default options; A changes, B looks"
fresh; echo 1 >"$D/f"; stat "$E/f" >/dev/null; rm "$D/f"
seen "stat() of a removed name" '! stat "$E/f" >/dev/null 2>&1'
fresh; echo 1 >"$D/f"; stat "$E/f" >/dev/null; rm "$D/f"
seen "open() of a removed name" '! cat "$E/f" >/dev/null 2>&1'
fresh; echo 1 >"$D/f"; stat "$E/f" >/dev/null; rm "$D/f"; cat "$E/f" 2>/dev/null
seen "stat() of a removed name after a failed open() of it" '! stat "$E/f" >/dev/null 2>&1'
fresh; echo 1 >"$D/w.x"; stat "$E/w.x" >/dev/null; mv "$D/w.x" "$D/a.x"
seen "stat() of the old name after a rename" '! stat "$E/w.x" >/dev/null 2>&1'
fresh; echo 1 >"$D/w.x"; stat "$E/w.x" >/dev/null; mv "$D/w.x" "$D/a.x"
seen "stat() of the new name after a rename" 'stat "$E/a.x" >/dev/null 2>&1'
fresh; stat "$E/n" >/dev/null 2>&1; echo 1 >"$D/n"
seen "stat() of a new name (looked up before: absent)" 'stat "$E/n" >/dev/null 2>&1'
fresh; cat "$E/n" >/dev/null 2>&1; echo 1 >"$D/n"
seen "open() of a new name (looked up before: absent)" 'cat "$E/n" >/dev/null 2>&1'
fresh; echo 1 >"$D/h"; ls "$E" >/dev/null; rm "$D/h"
seen "readdir() after a remove" '! ls "$E" | grep -qx h'
fresh; ls "$E" >/dev/null; echo 1 >"$D/n"
seen "readdir() after a create" 'ls "$E" | grep -qx n'
fresh; echo 1 >"$D/w.x"; ls "$E" >/dev/null; mv "$D/w.x" "$D/a.x"
seen "readdir() after a rename" 'ls "$E" | grep -qx a.x'
fresh; echo 1 >"$D/m"; cat "$E/m" >/dev/null; echo 22 >"$D/m.tmp"; mv "$D/m.tmp" "$D/m"
seen "open()+read() of a file replaced by rename" '[ "$(cat "$E/m")" = 22 ]'
fresh; echo 1 >"$D/m"; cat "$E/m" >/dev/null; echo 4444 >"$D/m"
seen "open()+read() of a file rewritten in place" '[ "$(cat "$E/m")" = 4444 ]'
fresh; echo 1 >"$D/t"; stat "$E/t" >/dev/null; m0=$(stat -c %Y "$E/t"); touch -d 2020-01-01 "$D/t"
seen "stat() mtime of a touched file" '[ "$(stat -c %Y "$E/t")" != "$m0" ]'
if command -v python3 >/dev/null 2>&1; then
	fresh; echo 1 >"$D/t"; stat "$E/t" >/dev/null; m0=$(mtime_fd "$E/t"); touch -d 2020-01-01 "$D/t"
	seen "fstat() mtime after a fresh open() of a touched file" '[ "$(mtime_fd "$E/t")" != "$m0" ]'
fi
fresh; echo 1 >"$D/s"; stat "$E/s" >/dev/null; s0=$(stat -c %s "$E/s"); echo more >>"$D/s"
seen "stat() size of a file appended to" '[ "$(stat -c %s "$E/s")" != "$s0" ]'
fresh; ls "$E" >/dev/null; echo 1 >"$D/n"; : >"$E/own"
seen "readdir() after a create, B created a name there since" 'ls "$E" | grep -qx n'
fresh; echo 1 >"$D/h"; ls "$E" >/dev/null; rm "$D/h"; : >"$E/own"
seen "readdir() after a remove, B created a name there since" '! ls "$E" | grep -qx h'
