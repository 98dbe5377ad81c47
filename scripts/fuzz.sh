#!/bin/sh
# Runs every fuzz target in the module for $1 (a go -fuzztime, e.g. 10s).
set -eu
t="${1:-60s}"
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
	pkg="./$(dirname "${f#./}")"
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r fn; do
		echo "fuzz $pkg $fn for $t"
		go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg"
	done
done
