#!/bin/sh
# mk/deps, when another apt-get holds the lock (unattended-upgrades on a
# fresh machine): it waits and tries again instead of failing at once;
# any other failure of apt-get still fails at once. apt-get is a fake
# here, and only sqlite3 is missing.
. "$(dirname "$0")/lib.sh"

fake=$TRASH/fakebin
mkdir -p "$fake"
for c in cc jq git inotifywait prove bwrap pkill flock sh cat grep mktemp rm sleep ls; do
	p=$(command -v "$c") && ln -s "$p" "$fake/$c"
done
cat >"$fake/id" <<'EOF2'
#!/bin/sh
echo 0
EOF2
cat >"$fake/apt-get" <<'EOF2'
#!/bin/sh
echo "$*" >>"$APT_LOG"
n=$(grep -c . "$APT_LOG")
if [ "$n" -le "$APT_LOCKED" ]; then
	echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
	exit 100
fi
[ -z "$APT_BROKEN" ] || { echo "E: Unable to locate package sqlite3" >&2; exit 100; }
exit 0
EOF2
chmod +x "$fake/id" "$fake/apt-get"
deps() { env PATH="$fake" APT_LOG="$TRASH/apt.log" LONGHAUL_DEPS_PAUSE=0 "$@" "$fake/sh" "$TOP/mk/deps"; }

: >"$TRASH/apt.log"
expect_code 0 'the lock held for two tries: mk/deps waits and succeeds' -- deps APT_LOCKED=2 APT_BROKEN=
expect_eq 'update tried three times, then install' 'update update update install' \
	"$(awk '{print $4}' "$TRASH/apt.log" | paste -sd' ' -)"
expect_match 'saying it waits' 'another apt-get holds the lock; waiting' "$TRASH/err"
expect_match 'apt-get itself is asked to wait for the dpkg lock' '^-o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends( [a-z0-9.-]+)* sqlite3( [a-z0-9.-]+)*$' "$TRASH/apt.log"
: >"$TRASH/apt.log"
expect_code 1 'another failure fails at once' -- deps APT_LOCKED=0 APT_BROKEN=1
expect_eq 'tried once' 1 "$(grep -c . "$TRASH/apt.log")"
done_testing
