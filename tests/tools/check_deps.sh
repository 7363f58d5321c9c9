#!/bin/sh
# check_deps.sh - the include rules of STYLE.md 2.1, from the #include lines:
#   common/ includes nothing from shm/, master/ or worker/;
#   shm/ includes only common/ (and shm/layout.h only <stdint.h> <stdatomic.h>
#   <stdalign.h>);  master/ never includes worker/;  worker/ never master/;
#   common/log.[ch] include no config header;  no source file includes a .c;
#   no include cycle among the project's files.
# Run from the top of the tree. Prints each violation; exits 1 if any.

fail=0

# edges: "includer included" for every quoted include, resolved like the
# compiler with -I.: "dir/x.h" from the top, a bare "x.h" next to the includer.
edges() {
	for f in common/*.[ch] shm/*.[ch] master/*.[ch] worker/*.[ch]; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		while read -r inc; do
			case "$inc" in
			*/*)	echo "$f $inc" ;;
			*)	echo "$f $(dirname "$f")/$inc" ;;
			esac
		done
	done
}

bad() {
	echo "check-deps: $1"
	fail=1
}

E=$(edges)

# Layer rules: includer directory -> included directories it must not reach.
printf '%s\n' "$E" | {
	f=0
	while read -r from to; do
		[ -n "$from" ] || continue
		case "$from:$to" in
		common/*:shm/* | common/*:master/* | common/*:worker/*)
			echo "check-deps: $from includes $to (common/ is the bottom layer)"; f=1 ;;
		shm/*:master/* | shm/*:worker/*)
			echo "check-deps: $from includes $to (shm/ includes only common/)"; f=1 ;;
		master/*:worker/*)
			echo "check-deps: $from includes $to (the master reaches a worker only" \
			    "through worker_main(), common/handoff.h)"; f=1 ;;
		worker/*:master/*)
			echo "check-deps: $from includes $to (worker/ never includes master/)"
			f=1 ;;
		common/log.[ch]:common/conf*.h)
			echo "check-deps: $from includes $to (the logger needs no config schema)"
			f=1 ;;
		*:*.c)
			echo "check-deps: $from includes $to (a .c is never included)"; f=1 ;;
		esac
	done
	exit $f
} || fail=1

# The ABI header stands alone.
if grep -n '^[[:space:]]*#[[:space:]]*include' shm/layout.h |
    grep -v '<stdint.h>\|<stdatomic.h>\|<stdalign.h>'; then
	bad "shm/layout.h includes more than <stdint.h> <stdatomic.h> <stdalign.h>"
fi

# Cycles: tsort(1) reports a loop in the include graph and exits non-zero.
if ! printf '%s\n' "$E" | tsort >/dev/null 2>/tmp/check_deps.$$; then
	bad "include cycle:"
	sed 's/^/  /' /tmp/check_deps.$$
fi
rm -f /tmp/check_deps.$$

# Cycles between modules (x.c with x.h): a module whose .c includes y.h
# depends on y, so worker.c driving cconn while cconn.c calls back into
# worker.c is a loop even when no header includes another. Shared types
# live in "-t.h" headers (no .c), which are leaves.
printf '%s\n' "$E" | sed -n 's|^\([a-z]*\)/\([a-z_]*\)\.[ch] \1/\([a-z_]*\)\.h$|\1/\2 \1/\3|p' |
    awk '$1 != $2' | sort -u > /tmp/check_deps_mod.$$
if ! tsort /tmp/check_deps_mod.$$ >/dev/null 2>/tmp/check_deps.$$; then
	bad "cycle between modules:"
	sed 's/^/  /' /tmp/check_deps.$$
fi
rm -f /tmp/check_deps.$$ /tmp/check_deps_mod.$$

[ $fail -eq 0 ] && echo "check-deps: OK"
exit $fail
