package auth

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/metrics"
)

var (
	// publishDecisions counts publish checks by result.
	publishDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_auth_publish_total",
		Help: "Publish authorization decisions, by result (allow, no_token, bad_token, webhook_denied, webhook_failed, too_many_streams).",
	}, []string{"result"})
	// playDecisions counts play checks by result.
	playDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_auth_play_total",
		Help: "Play authorization decisions, by result (allow, no_token, bad_token, webhook_denied, webhook_failed).",
	}, []string{"result"})
	// webhookResults counts webhook answers by result.
	webhookResults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_auth_webhook_total",
		Help: "Authorization webhook answers, by result (allow, deny, timeout, error, cached_allow, cached_deny).",
	}, []string{"result"})
)

func init() { metrics.Registry.MustRegister(publishDecisions, playDecisions, webhookResults) }
