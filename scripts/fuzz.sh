#!/bin/sh
# Runs fuzz targets for $1 (a go -fuzztime, e.g. 10s; default 60s) each:
# those named after it, or every fuzz target in the module. An input that
# fails is written under the package's testdata/fuzz/ and ends the run.
# New inputs are minimised for at most FUZZMINIMIZE executions (default
# 100x), so short runs spend their time fuzzing.
set -eu
cd "$(dirname "$0")/.."
t="${1:-60s}"
[ $# -gt 0 ] && shift
only=" $* "
min="${FUZZMINIMIZE:-100x}"
go="${GO:-go}"
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	pkg="./$(dirname "${f#./}")"
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r fn; do
		if [ "$only" != "  " ] && [ "${only#* $fn }" = "$only" ]; then
			continue
		fi
		echo "fuzz $pkg $fn for $t"
		"$go" test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" -fuzzminimizetime "$min" "$pkg"
	done
done
