// Package probe finds out where each stage of mediad's video path can run:
// decode (NVDEC or FFmpeg on the CPU), mutate (CUDA kernels or the Go
// reference), scale (scale_cuda or swscale) and encode (NVENC or libx264).
// Each stage is chosen on its own, and the report says why a stage stays
// on the CPU. Every FFmpeg object the probe creates is freed before it
// returns.
package probe

import (
	"fmt"
	"strings"
)

// Stage names, in the order of the video path.
const (
	StageDecode = "decode"
	StageMutate = "mutate"
	StageScale  = "scale"
	StageEncode = "encode"
)

// Modes of the gpu setting.
const (
	ModeAuto    = "auto"
	ModeOff     = "off"
	ModeRequire = "require"
)

// Backends a stage may report.
const (
	BackendNVDEC     = "NVDEC"
	BackendCPUDec    = "CPU (FFmpeg h264)"
	BackendCUDA      = "CUDA"
	BackendCPUGo     = "CPU (Go reference)"
	BackendCPUSws    = "CPU (swscale)"
	BackendScaleCUDA = "CUDA (scale_cuda)"
	BackendNVENC     = "NVENC"
	BackendCPUX264   = "CPU (libx264)"
)

// Stage says where one stage runs and why.
type Stage struct {
	// Stage is decode, mutate, scale or encode.
	Stage string `json:"stage"`
	// Backend is what runs it, e.g. "NVENC" or "CPU (libx264)".
	Backend string `json:"backend"`
	// Reason says why, in words a user can act on.
	Reason string `json:"reason"`
}

// OnGPU reports whether the stage runs on the GPU.
func (s Stage) OnGPU() bool { return !strings.HasPrefix(s.Backend, "CPU") }

// Report is what Probe found.
type Report struct {
	// GPU is the device's name, or "none".
	GPU string `json:"gpu"`
	// Stages lists decode, mutate, scale and encode, in that order.
	Stages []Stage `json:"stages"`
	// Mode is the gpu setting the probe ran under: auto, off or require.
	Mode string `json:"mode"`
}

// String prints one line per stage: "stage: backend: reason".
func (r Report) String() string {
	var b strings.Builder
	for _, s := range r.Stages {
		fmt.Fprintf(&b, "%s: %s: %s\n", s.Stage, s.Backend, s.Reason)
	}
	return b.String()
}

// Stage returns the stage called name.
func (r Report) Stage(name string) (Stage, bool) {
	for _, s := range r.Stages {
		if s.Stage == name {
			return s, true
		}
	}
	return Stage{}, false
}

// Err is non-nil when the mode is not one of auto, off and require, or
// when it is require and no stage can run on a GPU; the message says what
// is missing and how to run without one.
func (r Report) Err() error {
	switch r.Mode {
	case ModeAuto, ModeOff:
		return nil
	case ModeRequire:
	default:
		return fmt.Errorf("gpu: %q is not auto, off or require", r.Mode)
	}
	var missing []string
	for _, s := range r.Stages {
		if s.OnGPU() {
			return nil
		}
		missing = append(missing, s.Stage+": "+s.Reason)
	}
	return fmt.Errorf("gpu: require, but no stage can run on a GPU (GPU: %s); %s; set gpu: auto to run on the CPU",
		r.GPU, strings.Join(missing, "; "))
}

// Probe finds where each stage can run under mode (auto, off or require;
// anything else is probed as auto and reported by Err). It takes a few
// hundred milliseconds on a GPU machine and less elsewhere.
func Probe(mode string) Report {
	r := Report{Mode: mode}
	if mode == ModeOff {
		r.GPU = "not probed (gpu: off)"
		for _, st := range []struct{ stage, backend string }{
			{StageDecode, BackendCPUDec}, {StageMutate, BackendCPUGo}, {StageScale, BackendCPUSws}, {StageEncode, BackendCPUX264},
		} {
			r.Stages = append(r.Stages, Stage{Stage: st.stage, Backend: st.backend, Reason: "gpu: off"})
		}
		return r
	}
	r.GPU = gpuName()
	devErr := openCUDADevice()
	decode := probeDecode(devErr)
	r.Stages = []Stage{
		decode,
		probeMutate(),
		probeScale(devErr, decode),
		probeEncode(r.GPU),
	}
	return r
}

// probeMutate says whether the CUDA backend can run chains.
func probeMutate() Stage {
	s := Stage{Stage: StageMutate, Backend: BackendCPUGo}
	if !builtWithCUDA {
		s.Reason = "built without CUDA (build tag cuda)"
		return s
	}
	name, err := cudaDevice()
	if err != nil {
		s.Reason = "no CUDA device: " + err.Error()
		return s
	}
	s.Backend, s.Reason = BackendCUDA, "CUDA kernels on "+name
	return s
}
