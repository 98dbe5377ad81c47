#!/bin/sh
# Scheduler counters of one mediad build under N fan-out viewers: perf
# stat on the server for 5 s inside a measurement window (context
# switches, migrations, futex, epoll_pwait, nanosleep, sendmmsg, recvfrom,
# thread wakeups, per second), then the tool's line for the window. On
# this 2-core virtual machine these counters move less from run to run
# than CPU does: check a change against them before a CPU A/B.
# Usage: scripts/fanout-counters.sh BIN [N] [OUT]   (needs perf; Linux)
set -eu
BIN=$1
N=${2:-100}
OUT=${3:-bin/fanout-counters}
command -v perf >/dev/null || { echo "fanout-counters: needs perf (apt-get install linux-perf)" >&2; exit 2; }
mkdir -p "$OUT"
go build -o bin/fanout-tool ./cmd/fanout
./bin/fanout-tool -mediad "$BIN" -n "$N" -rounds 1 -window 15s -out "$OUT" >"$OUT/log" 2>&1 &
tool=$!
until grep -q "idle (stream" "$OUT/log" 2>/dev/null; do
	kill -0 "$tool" 2>/dev/null || { cat "$OUT/log" >&2; exit 1; }
	sleep 1
done
# The viewers join at 20 a second, then 5 s of warm-up: the window is on.
sleep $((N / 20 + 9))
pid=$(grep -o "mediad pid [0-9]*" "$OUT/log" | awk '{print $3}')
perf stat -e 'task-clock,context-switches,cpu-migrations,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_nanosleep,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_recvfrom,sched:sched_wakeup' \
	-p "$pid" -- sleep 5 2>&1 |
	awk '/task-clock/ {printf "cpu_ms=%.0f ", $1 / 5; next}
		/sys_enter|context|migr|wakeup/ {sub("syscalls:sys_enter_", "", $2); printf "%s=%d ", $2, $1 / 5}
		END {print "(per second)"}'
wait "$tool"
grep "n=$N " "$OUT/log" | cut -c1-160
