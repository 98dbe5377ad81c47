package kernels

import (
	"slices"
	"testing"
)

func TestSourcesAndEntries(t *testing.T) {
	want := map[string][]string{
		"analyze.cu":  {"luma_stats"},
		"blend.cu":    {"blend_plane"},
		"blur.cu":     {"conv_h", "conv_v"},
		"color.cu":    {"lut_y", "lut_uv_nv12", "lut_uv_yuv420p"},
		"pixelate.cu": {"block_mean"},
		"stamp.cu":    {"stamp_band"},
	}
	got := Entries()
	if len(got) != len(want) {
		t.Fatalf("got sources %v, want %d files", Names(), len(want))
	}
	for name, entries := range want {
		if !slices.Equal(got[name], entries) {
			t.Errorf("%s: entries %v, want %v", name, got[name], entries)
		}
	}
}
