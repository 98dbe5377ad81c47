#!/bin/sh
# Fan-out cost: server CPU per viewer-second for N pion WHEP viewers of one
# 640x360 1 Mb/s H.264 stream (ffmpeg CLI over RTMP), for mediad on its
# source rung and, when MEDIAMTX=/path/to/mediamtx is set, for MediaMTX in
# the same run: both servers up at once, their windows taking turns at each
# N (FANOUT_ROUNDS each, the order reversed every round), medians reported.
# Writes bin/fanout/fanout.csv and fanout.png (medians), fanout-rounds.csv
# (every window) and fanout-pairs.csv (the per-round ratios).
# Usage: scripts/fanout.sh   (env: GO, FANOUT_N, FANOUT_WINDOW, FANOUT_ROUNDS, FANOUT_ARGS, MEDIAMTX)
set -eu
GO=${GO:-go}
N=${FANOUT_N:-20,50,100,200,400}
WINDOW=${FANOUT_WINDOW:-20s}
ROUNDS=${FANOUT_ROUNDS:-3}
OUT=bin/fanout
mkdir -p "$OUT"
$GO build -o bin/mediad ./cmd/mediad
$GO build -o bin/fanout-tool ./cmd/fanout
set -- -mediad bin/mediad -n "$N" -window "$WINDOW" -rounds "$ROUNDS" -out "$OUT"
if [ -n "${MEDIAMTX:-}" ]; then
	if [ ! -x "$MEDIAMTX" ]; then
		echo "fanout: MEDIAMTX=$MEDIAMTX is not an executable file" >&2
		exit 2
	fi
	set -- "$@" -mediamtx "$MEDIAMTX"
else
	echo "fanout: MEDIAMTX not set: mediad's figures alone (MEDIAMTX=/path/to/mediamtx for the side-by-side run)"
fi
# shellcheck disable=SC2086 # FANOUT_ARGS is a list of flags
exec ./bin/fanout-tool "$@" ${FANOUT_ARGS:-}
