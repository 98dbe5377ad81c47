#!/bin/sh
# Runs fuzz targets for $1 each (a go -fuzztime: a count such as 15000x, or
# a duration such as 60s; default 60s): those named after it, or every fuzz
# target in the module. An input that fails is written under the package's
# testdata/fuzz/ and ends the run. New inputs are minimised for at most
# FUZZMINIMIZE executions (default 100x), so short runs spend their time
# fuzzing.
#
# A count has no wall-clock deadline. A duration does, and Go's fuzz
# coordinator (go1.26) can report that deadline as a failure, "context
# deadline exceeded", having found nothing: such a run wrote no input, so it
# is run once more, and a second failure ends the run.
set -eu
cd "$(dirname "$0")/.."
t="${1:-60s}"
[ $# -gt 0 ] && shift
only=" $* "
min="${FUZZMINIMIZE:-100x}"
go="${GO:-go}"
inputs() { ls "$1/testdata/fuzz/$2" 2>/dev/null | wc -l; }
fuzz() { "$go" test -run '^$' -fuzz "^${2}\$" -fuzztime "$t" -fuzzminimizetime "$min" "$1"; }
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	pkg="./$(dirname "${f#./}")"
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r fn; do
		if [ "$only" != "  " ] && [ "${only#* $fn }" = "$only" ]; then
			continue
		fi
		echo "fuzz $pkg $fn for $t"
		before=$(inputs "$pkg" "$fn")
		if fuzz "$pkg" "$fn"; then
			continue
		fi
		if [ "$(inputs "$pkg" "$fn")" != "$before" ]; then
			echo "FAIL: $fn wrote a failing input under $pkg/testdata/fuzz/$fn"
			exit 1
		fi
		echo "fuzz $pkg $fn failed without a failing input; once more"
		fuzz "$pkg" "$fn"
	done
done
