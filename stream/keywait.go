package stream

import "time"

// SetKeyframeWait records how long the ingest has waited for a keyframe it
// asked the publisher for, holding viewers on the last good frame; 0 when
// none is awaited. It is shown as Info.KeyframeWaitMs.
func (p *Publication) SetKeyframeWait(d time.Duration) { p.keyWait.Store(d.Milliseconds()) }

// KeyframeWait returns what SetKeyframeWait recorded.
func (p *Publication) KeyframeWait() time.Duration {
	return time.Duration(p.keyWait.Load()) * time.Millisecond
}
