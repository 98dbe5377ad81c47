package transcode

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"
)

// RouteFFmpegLogs sends FFmpeg's own log lines (warnings and errors only)
// to log, at most a few per second so a corrupt stream cannot flood it.
func RouteFFmpegLogs(log *slog.Logger) {
	var (
		mu      sync.Mutex
		window  time.Time
		count   int
		dropped int
	)
	astiav.SetLogLevel(astiav.LogLevelWarning)
	astiav.SetLogCallback(func(c astiav.Classer, l astiav.LogLevel, _, msg string) {
		if l > astiav.LogLevelWarning {
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
