package transcode

import (
	"fmt"
	"path"
	"time"
)

// Rung is one rendition of the ladder: its size for a landscape source,
// its frame rate and its target bitrate. A rung is defined by its short
// side, min(Width, Height): a stream is scaled so that its short side is
// that long, its long side keeping the source's aspect ratio and its
// orientation (720p is 1280x720 for a 16:9 landscape source, 720x1280 for
// a 9:16 portrait one, 960x720 for 4:3), sizes even.
type Rung struct {
	// Name identifies the rung to viewers and in metrics, e.g. "720p",
	// whatever the source's orientation.
	Name string `yaml:"name"`
	// Width is the width in pixels for a landscape source. Must be even.
	Width int `yaml:"width"`
	// Height is the height in pixels for a landscape source. Must be
	// even.
	Height int `yaml:"height"`
	// FPS is the highest frame rate of the rung; a faster source is
	// decimated by timestamp.
	FPS int `yaml:"fps"`
	// Bitrate is the target (and maximum) bitrate in bits per second.
	Bitrate int `yaml:"bitrate"`
}

// Config configures every stream's transcode pipeline.
type Config struct {
	// Ladder lists the renditions, largest first. Rungs whose short side
	// is longer than the source's are dropped: the pipeline never upscales.
	Ladder []Rung `yaml:"ladder"`
	// Preset is the x264 speed preset (ultrafast ... veryslow).
	Preset string `yaml:"preset"`
	// GOP is the interval of scheduled keyframes, which land at the same
	// timestamp on every rung.
	GOP time.Duration `yaml:"gop"`
	// KeyframeMinInterval is the least time between two on-demand keyframes
	// on one rung (requested by viewers after loss); later requests wait.
	KeyframeMinInterval time.Duration `yaml:"keyframe_min_interval"`
	// AudioBitrate is the Opus bitrate in bits per second.
	AudioBitrate int `yaml:"audio_bitrate"`
	// Threads is the number of x264 threads per encoder; 0 lets x264 choose.
	Threads int `yaml:"threads"`
	// SourceRung forwards a browser-playable source (H.264 without B-frames:
	// baseline profile, or an SPS that declares no frame reordering) as the
	// top rung, named "source", without decoding or encoding it.
	SourceRung bool `yaml:"source_rung"`
	// NoSourceRung lists stream names, or path.Match patterns ("test-*"),
	// for which the source rung is off.
	NoSourceRung []string `yaml:"no_source_rung"`
	// PauseIdleRungs: a rung with no viewers is not encoded; it resumes
	// with an IDR when one arrives. A paused rung is neither scaled nor
	// encoded (except that the lowest rung's scaler runs while its
	// frame-rate-capped variant is watched); the source rung costs nothing
	// and is never paused.
	PauseIdleRungs bool `yaml:"pause_idle_rungs"`
	// MinBitrateRatio is the lowest fraction of a rung's bitrate its
	// encoder may be retuned to for its viewers: once a second each running
	// rung's encoder targets 90 % of the lowest bitrate its viewers' links
	// carry, between this fraction of the rung's bitrate and the bitrate
	// itself. 1 turns retuning off.
	MinBitrateRatio float64 `yaml:"min_bitrate_ratio"`
	// MinViewersToRetune is the quorum of viewers under automatic control
	// that a shared rung (two readers or more) follows: its encoder is
	// retuned to the link of the Nth slowest of them, so fewer than N slow
	// viewers never lower it for the rest (they move down the ladder
	// instead), and with fewer than N reporting it keeps its bitrate. A
	// viewer that chose its rung by hand never counts. A rung with one
	// viewer follows that viewer when it is under automatic control. 1
	// follows the slowest automatic viewer.
	MinViewersToRetune int `yaml:"min_viewers_to_retune"`
	// LowFPSRung adds one more rung below the lowest transcoded one, named
	// "<lowest>-lowfps" (e.g. "180p-lowfps"): the same size at half its
	// frame rate (at least 1 fps) and half its bitrate, for viewers whose
	// link is too thin for the lowest rung. It encodes about every other
	// frame the lowest rung keeps, from that rung's scaled pictures (no
	// scaler of its own), with the same scheduled keyframes; like every
	// rung it is paused while nobody watches it.
	LowFPSRung bool `yaml:"low_fps_rung"`
	// VP8 adds a VP8 twin to every rung, for viewers whose browser offers
	// no H.264 (see VP8Config).
	VP8 VP8Config `yaml:"vp8"`
}

// VP8Config configures the VP8 ladder: every rung (its frame-rate-capped
// variant too) has a VP8 twin fed the same scaled, mutated frames as its
// H.264 encoder, with keyframes at the same timestamps. A twin is encoded
// only while its feed has readers, whatever PauseIdleRungs says: its libvpx
// encoder opens when the first VP8 viewer comes and is freed a few seconds
// after the last leaves. Its bitrate follows its viewers like the H.264
// rung's (applied at its next keyframe). A VP8 publisher's
// video is also forwarded untouched to VP8 viewers as their "source" rung.
type VP8Config struct {
	// Enabled offers VP8 feeds beside the H.264 ones.
	Enabled bool `yaml:"enabled"`
	// CPUUsed is libvpx's speed in realtime mode, 0 (best, slowest) to 16
	// (fastest): 8 holds 720p30 in real time on one core of a small VM.
	CPUUsed int `yaml:"cpu_used"`
	// Threads is the number of libvpx threads per encoder; 0 lets FFmpeg
	// choose (one per CPU).
	Threads int `yaml:"threads"`
}

// DefaultVP8Config is VP8 on, at cpu-used 8 with one thread per encoder.
func DefaultVP8Config() VP8Config {
	return VP8Config{Enabled: true, CPUUsed: 8, Threads: 1}
}

// validate reports the first invalid field, named as in the YAML file.
func (c VP8Config) validate() error {
	if c.CPUUsed < 0 || c.CPUUsed > 16 {
		return fmt.Errorf("vp8.cpu_used: %w: must be between 0 and 16", ErrInvalidConfig)
	}
	if c.Threads < 0 || c.Threads > 16 {
		return fmt.Errorf("vp8.threads: %w: must be between 0 (auto) and 16", ErrInvalidConfig)
	}
	return nil
}

// DefaultConfig returns a three-rung ladder (720p, 360p, 180p at 15 fps)
// with x264 veryfast and 96 kb/s Opus, a browser-playable source forwarded
// as the top rung on every stream, a frame-rate-capped variant of the
// lowest rung, rungs with no viewers paused, and encoders retuned down to
// 30 % of their rung's bitrate for their viewers.
func DefaultConfig() Config {
	return Config{
		Ladder: []Rung{
			{Name: "720p", Width: 1280, Height: 720, FPS: 30, Bitrate: 2_500_000},
			{Name: "360p", Width: 640, Height: 360, FPS: 30, Bitrate: 800_000},
			{Name: "180p", Width: 320, Height: 180, FPS: 15, Bitrate: 250_000},
		},
		Preset:              "veryfast",
		GOP:                 2 * time.Second,
		KeyframeMinInterval: 500 * time.Millisecond,
		AudioBitrate:        96_000,
		SourceRung:          true,
		PauseIdleRungs:      true,
		MinBitrateRatio:     0.3,
		MinViewersToRetune:  2,
		LowFPSRung:          true,
		VP8:                 DefaultVP8Config(),
	}
}

var x264Presets = map[string]bool{
	"ultrafast": true, "superfast": true, "veryfast": true, "faster": true, "fast": true,
	"medium": true, "slow": true, "slower": true, "veryslow": true, "placebo": true,
}

// Validate reports the first invalid field, named as in the YAML file.
func (c Config) Validate() error {
	if len(c.Ladder) == 0 {
		return fmt.Errorf("ladder: %w: at least one rung is needed", ErrInvalidConfig)
	}
	names := map[string]bool{}
	for i, r := range c.Ladder {
		switch {
		case r.Name == "":
			return fmt.Errorf("ladder[%d].name: %w: must not be empty", i, ErrInvalidConfig)
		case names[r.Name]:
			return fmt.Errorf("ladder[%d].name: %w: %q is used twice", i, ErrInvalidConfig, r.Name)
		case r.Width <= 0 || r.Width%2 != 0 || r.Width > 8192:
			return fmt.Errorf("ladder[%d].width: %w: must be even and > 0 (at most 8192)", i, ErrInvalidConfig)
		case r.Height <= 0 || r.Height%2 != 0 || r.Height > 8192:
			return fmt.Errorf("ladder[%d].height: %w: must be even and > 0 (at most 8192)", i, ErrInvalidConfig)
		case r.FPS <= 0 || r.FPS > 240:
			return fmt.Errorf("ladder[%d].fps: %w: must be between 1 and 240", i, ErrInvalidConfig)
		case r.Bitrate < 10_000:
			return fmt.Errorf("ladder[%d].bitrate: %w: must be at least 10000 bits per second", i, ErrInvalidConfig)
		}
		names[r.Name] = true
	}
	if !x264Presets[c.Preset] {
		return fmt.Errorf("preset: %w: %q is not an x264 preset (ultrafast ... veryslow)", ErrInvalidConfig, c.Preset)
	}
	if c.GOP < 100*time.Millisecond || c.GOP > time.Minute {
		return fmt.Errorf("gop: %w: must be between 100ms and 1m", ErrInvalidConfig)
	}
	if c.KeyframeMinInterval < 0 {
		return fmt.Errorf("keyframe_min_interval: %w: must not be negative", ErrInvalidConfig)
	}
	if c.AudioBitrate < 6_000 || c.AudioBitrate > 510_000 {
		return fmt.Errorf("audio_bitrate: %w: must be between 6000 and 510000 bits per second", ErrInvalidConfig)
	}
	if c.Threads < 0 || c.Threads > 64 {
		return fmt.Errorf("threads: %w: must be between 0 (auto) and 64", ErrInvalidConfig)
	}
	if !(c.MinBitrateRatio > 0 && c.MinBitrateRatio <= 1) {
		return fmt.Errorf("min_bitrate_ratio: %w: must be above 0 and at most 1", ErrInvalidConfig)
	}
	if c.MinViewersToRetune < 1 || c.MinViewersToRetune > 10_000 {
		return fmt.Errorf("min_viewers_to_retune: %w: must be between 1 and 10000", ErrInvalidConfig)
	}
	if err := c.VP8.validate(); err != nil {
		return err
	}
	if err := c.validateLowFPSRung(); err != nil {
		return err
	}
	return c.validateSourceRung()
}

// validateLowFPSRung checks that no rung is named like the capped variant
// of another: any rung may be the lowest one of a small source's ladder.
func (c Config) validateLowFPSRung() error {
	if !c.LowFPSRung {
		return nil
	}
	index := make(map[string]int, len(c.Ladder))
	for i, r := range c.Ladder {
		index[r.Name] = i
	}
	for _, r := range c.Ladder {
		if i, ok := index[lowFPSName(r.Name)]; ok {
			return fmt.Errorf("ladder[%d].name: %w: %q is the name of the frame-rate-capped variant of rung %q (rename it or set low_fps_rung: false)",
				i, ErrInvalidConfig, c.Ladder[i].Name, r.Name)
		}
	}
	return nil
}

// validateSourceRung checks the source rung's name and patterns.
func (c Config) validateSourceRung() error {
	if c.SourceRung {
		for i, r := range c.Ladder {
			if r.Name == SourceRungName {
				return fmt.Errorf("ladder[%d].name: %w: %q is the source rung's name (or set source_rung: false)",
					i, ErrInvalidConfig, SourceRungName)
			}
		}
	}
	for i, pat := range c.NoSourceRung {
		if pat == "" {
			return fmt.Errorf("no_source_rung[%d]: %w: must not be empty", i, ErrInvalidConfig)
		}
		if _, err := path.Match(pat, ""); err != nil {
			return fmt.Errorf("no_source_rung[%d]: %w: %q: %w", i, ErrInvalidConfig, pat, err)
		}
	}
	return nil
}

// sourceRungFor reports whether the source rung may be offered on the
// stream called name. Patterns were checked by Validate.
func (c Config) sourceRungFor(name string) bool {
	if !c.SourceRung {
		return false
	}
	for _, pat := range c.NoSourceRung {
		if ok, _ := path.Match(pat, name); ok {
			return false
		}
	}
	return true
}
