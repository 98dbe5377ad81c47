package probe

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// noGPU skips the test on a machine with an NVIDIA GPU.
func noGPU(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("nvidia-smi present: this test expects a machine without a GPU")
	}
}

func TestProbeAutoWithoutGPU(t *testing.T) {
	noGPU(t)
	r := Probe(ModeAuto)
	t.Logf("\n%s", r)
	if r.GPU != "none" {
		t.Errorf("GPU = %q, want none", r.GPU)
	}
	want := []string{StageDecode, StageMutate, StageScale, StageEncode}
	if len(r.Stages) != len(want) {
		t.Fatalf("%d stages, want %d", len(r.Stages), len(want))
	}
	for i, s := range r.Stages {
		if s.Stage != want[i] {
			t.Errorf("stage %d = %q, want %q", i, s.Stage, want[i])
		}
		if !strings.HasPrefix(s.Backend, "CPU (") || s.OnGPU() {
			t.Errorf("%s: backend %q, want CPU", s.Stage, s.Backend)
		}
		if s.Reason == "" {
			t.Errorf("%s: no reason", s.Stage)
		}
	}
	mut, _ := r.Stage(StageMutate)
	if !builtWithCUDA && mut.Reason != "built without CUDA (build tag cuda)" {
		t.Errorf("mutate reason %q", mut.Reason)
	}
	dec, _ := r.Stage(StageDecode)
	if !strings.Contains(dec.Reason, "cuda") && !strings.Contains(dec.Reason, "CUDA") {
		t.Errorf("decode reason %q does not say what about CUDA is missing", dec.Reason)
	}
	enc, _ := r.Stage(StageEncode)
	if !strings.Contains(enc.Reason, "nvenc") {
		t.Errorf("encode reason %q does not name h264_nvenc", enc.Reason)
	}
	if err := r.Err(); err != nil {
		t.Errorf("auto: Err() = %v, want nil", err)
	}
	if lines := strings.Split(strings.TrimSuffix(r.String(), "\n"), "\n"); len(lines) != 4 {
		t.Errorf("String() has %d lines, want 4:\n%s", len(lines), r)
	}
}

func TestProbeOff(t *testing.T) {
	r := Probe(ModeOff)
	if len(r.Stages) != 4 {
		t.Fatalf("%d stages, want 4", len(r.Stages))
	}
	for _, s := range r.Stages {
		if s.OnGPU() || s.Reason != "gpu: off" {
			t.Errorf("off: %+v, want CPU with reason \"gpu: off\"", s)
		}
	}
	if !strings.Contains(r.String(), "encode: CPU (libx264): gpu: off\n") {
		t.Errorf("String():\n%s", r)
	}
	if r.Err() != nil {
		t.Errorf("off: Err() = %v", r.Err())
	}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"stage":"decode","backend":"CPU (FFmpeg h264)","reason":"gpu: off"`) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

func TestProbeRequireWithoutGPU(t *testing.T) {
	noGPU(t)
	err := Probe(ModeRequire).Err()
	if err == nil {
		t.Fatal("require without a GPU: Err() = nil")
	}
	for _, want := range []string{"no stage can run on a GPU", "decode:", "encode:", "gpu: auto"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %q, want it to mention %q", err, want)
		}
	}
	if err := (Report{Mode: "sometimes"}).Err(); err == nil {
		t.Error("unknown mode: Err() = nil")
	}
}

// TestProbeScaleFollowsDecode: scale_cuda needs frames in device memory, so
// the scale stage is on the GPU only when decode is on NVDEC and a CUDA
// device opens (this FFmpeg has scale_cuda).
func TestProbeScaleFollowsDecode(t *testing.T) {
	nvdec := Stage{Stage: StageDecode, Backend: BackendNVDEC}
	if s := probeScale(nil, nvdec); s.Backend != BackendScaleCUDA || !s.OnGPU() || !strings.Contains(s.Reason, "NVDEC frames") {
		t.Errorf("with NVDEC: %+v, want scale_cuda on the GPU", s)
	}
	cpuDec := Stage{Stage: StageDecode, Backend: BackendCPUDec}
	if s := probeScale(nil, cpuDec); s.Backend != BackendCPUSws || !strings.Contains(s.Reason, "decode on the CPU") {
		t.Errorf("with the CPU decoder: %+v, want swscale because frames are on the host", s)
	}
	if s := probeScale(errors.New("CUDA_ERROR_NO_DEVICE"), nvdec); s.Backend != BackendCPUSws || !strings.Contains(s.Reason, "CUDA_ERROR_NO_DEVICE") {
		t.Errorf("without a device: %+v, want swscale with the device error", s)
	}
}
