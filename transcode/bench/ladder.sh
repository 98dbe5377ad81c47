#!/bin/sh
# Transcode CPU: mediad's pipeline vs the ffmpeg CLI on the same 30 s 720p30
# H.264+AAC clip, the default ladder and the same x264/Opus settings.
# Prints CPU seconds per media second of each and their ratio.
set -eu
cd "$(dirname "$0")/../.."
exec go test -run '^$' -bench '^BenchmarkLadder$' -benchtime 1x -count 1 ./transcode/
