package server

import (
	"io"
	"log/slog"
	"testing"

	"github.com/mutstream/mutstream/gpu/probe"
	"github.com/mutstream/mutstream/transcode"
)

func TestHardwareForBackend(t *testing.T) {
	report := func(dec, enc string) probe.Report {
		return probe.Report{GPU: "test", Mode: probe.ModeAuto, Stages: []probe.Stage{
			{Stage: probe.StageDecode, Backend: dec},
			{Stage: probe.StageMutate, Backend: probe.BackendCPUGo},
			{Stage: probe.StageScale, Backend: probe.BackendCPUSws},
			{Stage: probe.StageEncode, Backend: enc},
		}}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		r    probe.Report
		want transcode.Hardware
	}{
		{"cpu", report(probe.BackendCPUDec, probe.BackendCPUX264), transcode.Hardware{}},
		{"h100: NVDEC, no NVENC", report(probe.BackendNVDEC, probe.BackendCPUX264), transcode.Hardware{Decode: true}},
		{"l4: both", report(probe.BackendNVDEC, probe.BackendNVENC), transcode.Hardware{Decode: true, Encode: true}},
		{"gpu: off", probe.Probe(probe.ModeOff), transcode.Hardware{}},
		{"empty report", probe.Report{}, transcode.Hardware{}},
	} {
		if got := hardwareFor(tc.r, log); got != tc.want {
			t.Errorf("%s: hardwareFor = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
