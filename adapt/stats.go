package adapt

import "time"

// Stats is what the sender knows about one viewer's link at Now, gathered
// since the previous Update (about every 200 ms).
type Stats struct {
	// Now is the time of the sample; the controller has no other clock.
	Now time.Time
	// Estimate is GCC's target bitrate in bits per second; 0 means not known yet.
	Estimate int
	// Overuse is true while GCC's delay-based detector reports overuse.
	Overuse bool
	// QueueDelay is the one-way delay above the link's base, from
	// transport-wide feedback; 0 means none or not known.
	QueueDelay time.Duration
	// Fell says the sender saw the link fall far under the rung's rate
	// just now (packets arriving slower than sent while their delay
	// climbs), with Estimate the rate they arrived at: congestion at once,
	// before the queue is deep.
	Fell bool
	// Probing says the sender padded to probe during the interval, or cut
	// a probe short within the last two seconds (its queue drains, and the
	// receiver report of its loss comes late): congestion now is the
	// probe's.
	Probing bool
	// Probed says Estimate was measured by a probe that ran clean: the
	// smoothed estimate takes it at once instead of rising to it.
	Probed bool
	// Loss is the fraction lost (0..1) from the latest RTCP receiver report
	// (RFC 3550 section 6.4.1).
	Loss float64
	// RTT is the round-trip time from RTCP reports; 0 means not known.
	RTT time.Duration
	// NACKs is the number of NACKed packets (RFC 4585 section 6.2.1)
	// received since the previous Update.
	NACKs int
	// Packets is the number of video packets sent since the previous Update.
	Packets int
}

// Decision is what to send to the viewer now.
type Decision struct {
	// Rung is the name of the rung to send. While AudioOnly it names the
	// lowest rung, the one still pictures are taken from.
	Rung string
	// FPSCap is the highest frame rate to send; 0 means the rung's own.
	FPSCap int
	// AudioOnly means no video: audio, and a still picture every
	// Config.StillEvery.
	AudioOnly bool
	// Reason says why the decision in force was taken (one of the Reason
	// constants); an unchanged decision keeps the reason of the change that
	// made it.
	Reason string
	// Changed is true when Rung, FPSCap or AudioOnly differ from the
	// previous decision (and on the first one).
	Changed bool
}

// Reasons of a Decision.
const (
	// ReasonStart is the first decision.
	ReasonStart = "start"
	// ReasonEstimate is a move that follows the smoothed estimate.
	ReasonEstimate = "estimate"
	// ReasonOveruse is a step down on GCC delay overuse.
	ReasonOveruse = "congestion:overuse"
	// ReasonDelay is a step down on queueing delay.
	ReasonDelay = "congestion:delay"
	// ReasonLoss is a step down on RTCP loss.
	ReasonLoss = "congestion:loss"
	// ReasonNACK is a step down on the NACK rate.
	ReasonNACK = "congestion:nack"
	// ReasonProbeOK is a step up after a probe found the capacity.
	ReasonProbeOK = "probe-ok"
	// ReasonBackoff is a step down after an up-switch failed within the
	// fail window; the hold before the next try at that rung doubles.
	ReasonBackoff = "backoff"
	// ReasonManual is a rung chosen by hand (SetManual).
	ReasonManual = "manual"
	// ReasonAuto is the first automatic decision after ClearManual.
	ReasonAuto = "auto"
	// ReasonTooThin is the frame-rate cap on the lowest rung when the
	// estimate does not carry it.
	ReasonTooThin = "too-thin"
	// ReasonAudioOnly is the switch to audio-only.
	ReasonAudioOnly = "audio-only"
	// ReasonRecovered lifts the frame-rate cap or leaves audio-only.
	ReasonRecovered = "recovered"
	// ReasonLadder is a move forced by SetRungs: the rung left the ladder.
	ReasonLadder = "ladder"
	// ReasonNoRungs means the ladder is empty: audio only.
	ReasonNoRungs = "no-rungs"
)

// States reported by Controller.State.
const (
	// StateStable is the top rung, or nothing to do.
	StateStable = "stable"
	// StateCongested means congestion was seen in the latest Update.
	StateCongested = "congested"
	// StateHolding means waiting: for a step up to hold, or for the probe
	// backoff after congestion to end.
	StateHolding = "holding"
	// StateProbing means ProbeTarget is non-zero.
	StateProbing = "probing"
	// StateAudioOnly means no video is sent.
	StateAudioOnly = "audio-only"
	// StateManual means a manual rung is in force.
	StateManual = "manual"
)
