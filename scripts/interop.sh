#!/bin/bash
# Interop with FFmpeg's own WHIP muxer (FFmpeg 8.1): builds a minimal FFmpeg
# from Debian's source package into bin/ffmpeg-whip (once), starts bin/mediad
# on free ports and publishes to it, one line per case:
#   baseline      H.264 constrained baseline + Opus, mediad is the DTLS client
#   high-no-b     H.264 High without B-frames
#   dtls-active   -whip_flags dtls_active (mediad is the DTLS server)
#   sigint        SIGINT: FFmpeg sends DELETE, the stream ends at once
#   sigkill       SIGKILL: no DELETE, mediad ends the session on ICE timeout
# setup_ms is the answer to the POST to the first decoded frame (mediad's
# log); recovered is mediad_whip_packets_recovered_total; ended_ms_after is
# from FFmpeg's exit (or the signal) to the end of the session.
# The build needs the headers of libx264, libopus and OpenSSL (DEB_INTEROP in
# the Makefile); where x264 or opus headers are missing it fetches their
# Debian -dev packages with apt-get download into its own folder and installs
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${INTEROP_WORK:-$ROOT/bin/interop}
FFMPEG=$ROOT/bin/ffmpeg-whip
FFVER=${FFVER:-7:8.1.2-2}
SECS=${INTEROP_SECONDS:-8}
# INTEROP_DTLS_RTX sets webrtc.dtls_retransmit_interval (1s: pion's default).
mkdir -p "$WORK"

# apt against a private sources list and state: the system's apt config
# stays as it is.
papt() {
	apt-get -q -o Dir::Etc::SourceList="$WORK/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache" \
		-o Dir::State::Status=/var/lib/dpkg/status -o Debug::NoLocking=1 "$@"
}

build_ffmpeg() {
	[ -x "$FFMPEG" ] && return 0
	local t0=$SECONDS
	mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/src" "$WORK/dev"
	cat >"$WORK/apt/sources.list" <<-EOF
		deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
	EOF
	papt update >"$WORK/apt.log" 2>&1
	(cd "$WORK/src" && papt source --download-only "ffmpeg=$FFVER" >>"$WORK/apt.log" 2>&1)
	local orig
	orig=$(ls "$WORK"/src/ffmpeg_*.orig.tar.* | head -1)
	rm -rf "$WORK/src/ffmpeg"
	mkdir -p "$WORK/src/ffmpeg"
	tar xf "$orig" -C "$WORK/src/ffmpeg" --strip-components=1
	# Headers of x264 and opus, unless installed: unpacked, not installed.
	local pcdir="$WORK/dev/usr/lib/x86_64-linux-gnu/pkgconfig"
	if ! pkg-config --exists x264 opus; then
		(cd "$WORK/dev" && papt download libx264-dev libopus-dev >>"$WORK/apt.log" 2>&1)
		for d in "$WORK"/dev/*.deb; do dpkg -x "$d" "$WORK/dev"; done
		local lib="$WORK/dev/usr/lib/x86_64-linux-gnu"
		ln -sf /usr/lib/x86_64-linux-gnu/libx264.so.164 "$lib/libx264.so"
		ln -sf /usr/lib/x86_64-linux-gnu/libopus.so.0 "$lib/libopus.so"
		sed -i -e "s#^prefix=.*#prefix=$WORK/dev/usr#" -e "s#^libdir=.*#libdir=$lib#" \
			-e "s#-L/usr/lib/x86_64-linux-gnu#-L$lib#" "$pcdir"/x264.pc "$pcdir"/opus.pc
	fi
	cd "$WORK/src/ffmpeg"
	PKG_CONFIG_PATH="$pcdir" ./configure --prefix="$WORK/ffmpeg" \
		--disable-everything --disable-doc --disable-ffplay --disable-ffprobe --disable-x86asm \
		--enable-gpl --enable-version3 --enable-pthreads --enable-openssl \
		--enable-libx264 --enable-libopus \
		--enable-filter=testsrc2,sine,format,scale,aresample,aformat,anull,null \
		--enable-indev=lavfi --enable-demuxer=lavfi \
		--enable-decoder=wrapped_avframe,pcm_s16le,pcm_f32le,rawvideo \
		--enable-encoder=libx264,libopus \
		--enable-muxer=whip,rtp,null --enable-parser=h264,opus \
		--enable-bsf=h264_mp4toannexb,h264_metadata \
		--enable-protocol=http,https,tcp,udp,dtls,rtp,srtp,file,pipe \
		>"$WORK/configure.log" 2>&1
	make -j"$(nproc)" ffmpeg >"$WORK/make.log" 2>&1
	cp ffmpeg "$FFMPEG"
	cd "$ROOT"
	echo "interop: built $("$FFMPEG" -hide_banner -version | head -1) in $((SECONDS - t0)) s"
}

MEDIAD_PID=""
cleanup() {
	[ -n "$MEDIAD_PID" ] && kill "$MEDIAD_PID" 2>/dev/null && wait "$MEDIAD_PID" 2>/dev/null
	return 0
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_mediad() {
	go build -o bin/mediad ./cmd/mediad
	HTTP_PORT=$(free_port)
	cat >"$WORK/mediad.yml" <<-EOF
		http:
		  addr: 127.0.0.1:$HTTP_PORT
		rtmp:
		  addr: 127.0.0.1:0
		webrtc:
		  udp_port: 0
		  dtls_retransmit_interval: ${INTEROP_DTLS_RTX:-150ms}
		demo:
		  enabled: false
		transcode:
		  pause_idle_rungs: false
		auth:
		  publish_token: interop-secret
		log:
		  format: json
		state_dir: ""
	EOF
	./bin/mediad serve --config "$WORK/mediad.yml" >"$WORK/mediad.log" 2>&1 &
	MEDIAD_PID=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && return 0
		sleep 0.1
	done
	echo "interop: mediad did not start:"; tail -20 "$WORK/mediad.log"; exit 1
}

# publish NAME EXTRA...: runs FFmpeg's WHIP muxer in the background.
publish() {
	local name=$1
	shift
	"$FFMPEG" -hide_banner -loglevel info -re \
		-f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
		-c:v libx264 -preset veryfast -tune zerolatency -g 30 -pix_fmt yuv420p "$@" \
		-c:a libopus -ar 48000 -ac 2 -b:a 64k \
		-f whip -authorization interop-secret "http://127.0.0.1:$HTTP_PORT/whip/$name" \
		>"$WORK/ffmpeg-$name.log" 2>&1 &
	FF_PID=$!
}

# logq NAME WHAT: the first time (unix ms) a mediad log line about stream
# NAME matches WHAT, empty if none yet: post (the answer to the POST went
# out: "publisher connected", a few ms after the POST came in), ready (the
# first frame decoded: "encoders ready"), ended (the session is over:
# "publisher left").
logq() {
	python3 - "$WORK/mediad.log" "$1" "$2" <<-'EOF'
		import json, sys, datetime
		path, name, what = sys.argv[1:]
		def ms(s):
		    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000
		for line in open(path, errors="replace"):
		    try:
		        r = json.loads(line)
		    except ValueError:
		        continue
		    msg, stream = r.get("msg", ""), r.get("stream")
		    if stream != name:
		        continue
		    if (what == "post" and msg == "publisher connected") or \
		       (what == "ready" and msg == "encoders ready") or \
		       (what == "ended" and msg == "publisher left" and "component" not in r):
		        print(int(ms(r["time"]))); break
	EOF
}

wait_log() { # NAME WHAT SECONDS
	for _ in $(seq $(($3 * 20))); do
		local v
		v=$(logq "$1" "$2")
		[ -n "$v" ] && { echo "$v"; return 0; }
		sleep 0.05
	done
	return 1
}

recovered() {
	curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" |
		awk -v s="stream=\"$1\"" '/^mediad_whip_packets_recovered_total/ && index($0, s) { print $2; f=1 } END { if (!f) print 0 }'
}

now_ms() { date +%s%3N; }

# run_case CASE HOW EXTRA...: HOW is "run" (FFmpeg stops after SECS, which
# sends DELETE), "sigint" or "sigkill" (sent once live).
run_case() {
	local name=$1 how=$2
	shift 2
	local args=("$@")
	[ "$how" = run ] && args+=(-t "$SECS")
	publish "$name" "${args[@]}"
	local post ready
	if ! ready=$(wait_log "$name" ready 20); then
		kill "$FF_PID" 2>/dev/null || true
		wait "$FF_PID" 2>/dev/null || true
		printf '%-12s FAIL  never decoded (ffmpeg: %s)\n' "$name" "$(grep -iE 'error|fail' "$WORK/ffmpeg-$name.log" | tail -1)"
		return
	fi
	post=$(logq "$name" post)
	local setup=$((ready - post)) stop end
	case $how in
	run) wait "$FF_PID" || true; stop=$(now_ms) ;;
	sigint) sleep 3; stop=$(now_ms); kill -INT "$FF_PID"; wait "$FF_PID" || true ;;
	sigkill) sleep 3; stop=$(now_ms); kill -KILL "$FF_PID"; wait "$FF_PID" 2>/dev/null || true ;;
	esac
	local rec
	rec=$(recovered "$name")
	if end=$(wait_log "$name" ended 30); then
		printf '%-12s ok    setup_ms=%-5s recovered=%-3s ended_ms_after_%s=%s\n' "$name" "$setup" "$rec" "$how" $((end - stop))
	else
		printf '%-12s FAIL  setup_ms=%-5s recovered=%-3s stream did not end within 30 s of %s\n' "$name" "$setup" "$rec" "$how"
	fi
}

build_ffmpeg
[ -n "${INTEROP_BUILD_ONLY:-}" ] && exit 0
start_mediad
run_case baseline run -profile:v baseline
run_case high-no-b run -profile:v high -bf 0
run_case dtls-active run -profile:v baseline -whip_flags dtls_active
run_case sigint sigint -profile:v baseline
run_case sigkill sigkill -profile:v baseline
