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
	// ErrBusy means the pipeline did not take a request in time.
	ErrBusy = errors.New("pipeline busy")
	// ErrClosed means the pipeline has stopped.
	ErrClosed = errors.New("pipeline closed")
	// ErrFFmpeg wraps a failed FFmpeg allocation.
	ErrFFmpeg = errors.New("ffmpeg allocation failed")
)
