package transcode

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"
)

// capture holds FFmpeg's log lines while CaptureFFmpegLogs runs.
var capture struct {
	mu     sync.Mutex
	on     bool
	lines  []string
	routed bool // RouteFFmpegLogs has installed its callback
}

// captured takes a line when a capture is on.
func captured(msg string) bool {
	capture.mu.Lock()
	defer capture.mu.Unlock()
	if !capture.on {
		return false
	}
	if m := strings.TrimSpace(msg); m != "" && len(capture.lines) < 100 {
		capture.lines = append(capture.lines, m)
	}
	return true
}

// CaptureFFmpegLogs runs fn with FFmpeg's log lines (warnings and errors)
// collected instead of logged, and returns them: a probe that expects
// failures on a machine without a GPU should not fill the log with them.
func CaptureFFmpegLogs(fn func()) []string {
	capture.mu.Lock()
	capture.on, capture.lines = true, nil
	routed := capture.routed
	capture.mu.Unlock()
	if !routed {
		astiav.SetLogLevel(astiav.LogLevelWarning)
		astiav.SetLogCallback(func(_ astiav.Classer, l astiav.LogLevel, _, msg string) {
			if l <= astiav.LogLevelWarning {
				captured(msg)
			}
		})
		defer astiav.ResetLogCallback()
	}
	fn()
	capture.mu.Lock()
	defer capture.mu.Unlock()
	capture.on = false
	return capture.lines
}

// RouteFFmpegLogs sends FFmpeg's own log lines (warnings and errors only)
// to log, at most a few per second so a corrupt stream cannot flood it.
func RouteFFmpegLogs(log *slog.Logger) {
	var (
		mu      sync.Mutex
		window  time.Time
		count   int
		dropped int
	)
	capture.mu.Lock()
	capture.routed = true
	capture.mu.Unlock()
	astiav.SetLogLevel(astiav.LogLevelWarning)
	astiav.SetLogCallback(func(c astiav.Classer, l astiav.LogLevel, _, msg string) {
		if l > astiav.LogLevelWarning || captured(msg) {
			return
		}
		mu.Lock()
		now := time.Now()
		if now.Sub(window) > time.Second {
			if dropped > 0 {
				log.Warn("ffmpeg log lines suppressed", "count", dropped)
			}
			window, count, dropped = now, 0, 0
		}
		count++
		if count > 5 {
			dropped++
			mu.Unlock()
			return
		}
		mu.Unlock()
		lvl := slog.LevelWarn
		if l <= astiav.LogLevelError {
			lvl = slog.LevelError
		}
		component := ""
		if c != nil {
			if cl := c.Class(); cl != nil {
				component = cl.Name()
			}
		}
		log.Log(context.Background(), lvl, strings.TrimSpace(msg), "component", "ffmpeg", "ffmpeg", component)
	})
}
