#!/bin/sh
# Demo for `make run`: two backends on 9001/9002, then sluice in the foreground.
# Usage: sh tests/run-demo.sh SLUICE_BIN CONFIG
# Ctrl-C, SIGTERM or sluice exiting stops everything this script started, by PID.

if [ $# -ne 2 ]; then
	echo "usage: $0 SLUICE_BIN CONFIG" >&2
	exit 2
fi
bin=$1
conf=$2
here=$(dirname "$0")
backends=""
sluice=""

# shellcheck disable=SC2317  # invoked by the traps
cleanup() {
	trap - INT TERM EXIT
	if [ -n "$sluice" ]; then
		kill "$sluice" 2>/dev/null
		wait "$sluice" 2>/dev/null
	fi
	for p in $backends; do
		kill "$p" 2>/dev/null
	done
	for p in $backends; do
		wait "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

python3 "$here/integration/backend.py" --port 9001 --name demo1 &
backends="$backends $!"
python3 "$here/integration/backend.py" --port 9002 --name demo2 &
backends="$backends $!"

# sluice runs as a child we wait for, so that a signal to this script is
# handled at once (a trap waits for a foreground command to finish).
"$bin" -f -c "$conf" &
sluice=$!
wait "$sluice"
rc=$?
sluice=""
exit "$rc"
