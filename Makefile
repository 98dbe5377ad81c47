# mediad: `make run` to try it, `make test` to check it.
GO        ?= go
BIN       := bin/mediad
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEB_BUILD := pkg-config libavcodec-dev libavformat-dev libavfilter-dev libavdevice-dev \
             libswscale-dev libswresample-dev libavutil-dev
DEB_TEST  := ffmpeg chromium fonts-liberation iproute2 nodejs firefox-esr redis-server
# make interop builds FFmpeg 8.1 (its WHIP muxer) with these.
DEB_INTEROP := libx264-dev libopus-dev libssl-dev xz-utils build-essential
TEST_TIMEOUT ?= 20m

.PHONY: all build run test test-deps deps bench fuzz vet clean

all: build

## deps: install the Debian packages the build needs (only those missing).
deps:
	@./scripts/deps.sh $(DEB_BUILD)

## test-deps: the build packages plus ffmpeg, chromium and firefox-esr for
## end-to-end tests, and puppeteer-core (24.x: Node 20) that drives Firefox.
test-deps:
	@./scripts/deps.sh $(DEB_BUILD) $(DEB_TEST)
	@test -d internal/firefox/node_modules/puppeteer-core || npm ci --prefix internal/firefox --no-audit --no-fund

## build: bin/mediad.
build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/mediad

## run: build and start mediad with the example config.
run: build
	./$(BIN) serve --config mediad.yml

## vet: gofmt and go vet.
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

## test: everything, with the race detector, real ffmpeg and real Chromium,
## then the players' script checks under node, then the parsers' fuzz targets briefly (FUZZ_BRIEF each), then cuda-check (the cuda build
## and an NVRTC compile of every kernel; skipped, saying so, without the
## CUDA headers: make deps-cuda).
test: test-deps vet
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	@for f in web/assets/*.test.mjs; do node $$f || { echo "FAIL: $$f"; exit 1; }; done; echo "ok  	web/assets/*.test.mjs (node)"
	GO=$(GO) ./scripts/fuzz.sh $(FUZZ_BRIEF) $(FUZZ_PARSERS)
	@$(MAKE) --no-print-directory cuda-check

## fuzz: every fuzz target for FUZZTIME each (default 60s).
FUZZTIME ?= 60s
# The parsers' fuzz targets that make test runs for FUZZ_BRIEF executions each:
# a count, not a duration, so no wall-clock deadline can fail a run that found nothing.
FUZZ_BRIEF   ?= 15000x
FUZZ_PARSERS := FuzzOffer FuzzSDPFrag FuzzH264RoundTrip FuzzH264Payloads FuzzVP8RoundTrip FuzzVP8Payloads FuzzParseChain FuzzDecode
fuzz: deps
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME)

## soak: not in CI. mediad (bin/mediad) with the demo and 2 ffmpeg RTMP
## publishers, 50 pion WHEP viewers (one replaced every 10 s), for
## SOAK_DURATION; RSS, goroutines, threads and FDs sampled every 10 s into
## bin/soak/samples.csv, rss.png, counts.png, and the slopes per hour in
## bin/soak/summary.txt.
SOAK_DURATION ?= 30m
.PHONY: soak
soak: build
	$(GO) run ./cmd/soak -mediad $(BIN) -duration $(SOAK_DURATION) -out bin/soak

## bench: the figures in BENCHMARKS.md (the Go benchmarks, then bench-fanout).
bench: test-deps
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...
	@$(MAKE) --no-print-directory bench-fanout

## bench-fanout: server CPU per viewer-second for 20..400 pion WHEP viewers
## of one 640x360 1 Mb/s stream; with MEDIAMTX=/path/to/mediamtx, MediaMTX
## in the same run, the two taking turns (3 rounds each per N, medians).
## bin/fanout/fanout.csv and fanout.png; every window in fanout-rounds.csv,
## per-round ratios in fanout-pairs.csv.
.PHONY: bench-fanout
bench-fanout: test-deps
	GO=$(GO) MEDIAMTX=$(MEDIAMTX) ./scripts/fanout.sh

## bench-cluster: the "Cluster" figures of BENCHMARKS.md (also in bench):
## a real Redis, one origin and two edges (mediad processes); CPU per
## viewer on an edge and on the origin, the origin's CPU per edge, and the
## glass-to-glass latency one edge hop adds (Chromium).
.PHONY: bench-cluster
bench-cluster: test-deps
	$(GO) test -run '^$$' -bench 'BenchmarkClusterScaleOut|BenchmarkEdgeHopLatency' -benchtime 1x -timeout 15m -v ./cluster/

## interop: FFmpeg 8.1's own WHIP muxer against mediad (not in make test):
## builds bin/ffmpeg-whip from Debian's source package once, then publishes:
## baseline, High without B-frames, dtls_active, SIGINT, SIGKILL.
.PHONY: interop
interop: deps
	@./scripts/deps.sh $(DEB_INTEROP)
	./scripts/interop.sh

clean:
	rm -rf bin

## deps-cuda: nvidia-cuda-dev (cuda.h, nvrtc.h, libcuda.so) from Debian's
## contrib/non-free, for the `cuda` build tag (only what is missing).
.PHONY: deps-cuda cuda-check
deps-cuda:
	./scripts/deps-cuda.sh

## gpu-bundle: the CUDA kernels' test binary and Debian's NVRTC under .gpu/,
## for a machine with an NVIDIA GPU and no Go; scripts/gpu-run.sh runs them there.
.PHONY: gpu-bundle
gpu-bundle:
	./scripts/gpu-bundle.sh

## cuda-check: vet and build with -tags cuda and compile every kernel with
## NVRTC (no GPU needed), then CUDA against the CPU where a GPU is; skipped
## when the CUDA headers are not installed.
cuda-check:
	@if [ -f /usr/include/cuda.h ] || [ -f /usr/local/cuda/include/cuda.h ]; then \
		set -e; \
		echo "$(GO) vet -tags cuda ./..."; $(GO) vet -tags cuda ./...; \
		echo "$(GO) build -tags cuda ./..."; $(GO) build -tags cuda ./...; \
		echo "$(GO) test -tags cuda -run TestNVRTCCompile ./gpu/kernels/"; \
		$(GO) test -count=1 -tags cuda -run TestNVRTCCompile ./gpu/kernels/; \
		echo "$(GO) test -tags cuda ./gpu/cuda/gputest/ (CUDA vs CPU; skips without /dev/nvidia0)"; \
		$(GO) test -count=1 -tags cuda ./gpu/cuda/gputest/; \
	else \
		echo "cuda-check: skipped: CUDA headers not installed (make deps-cuda)"; \
	fi
