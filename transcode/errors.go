package transcode

import "errors"

// Errors returned by this package; match them with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("invalid transcode config")
	// ErrUnsupportedCodec means no FFmpeg decoder handles the track's codec.
	ErrUnsupportedCodec = errors.New("unsupported codec")
	// ErrNoVideo means the publication has no video track.
	ErrNoVideo = errors.New("publication has no video track")
	// ErrFFmpeg wraps a failed FFmpeg allocation.
	ErrFFmpeg = errors.New("ffmpeg allocation failed")
)
