package web

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// connectSrc widens the Content-Security-Policy's connect-src by the
// origins extra returns (a cluster's other nodes, where the player retries
// when its own node dies); nothing else of the policy changes.
func connectSrc(extra func() []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		origins := extra()
		if len(origins) == 0 {
			return
		}
		var b strings.Builder
		for _, o := range origins {
			if o == "" || strings.ContainsAny(o, " ;,'\"\r\n") {
				continue // an origin, never a policy of its own
			}
			b.WriteString(" ")
			b.WriteString(o)
		}
		c.Header("Content-Security-Policy", strings.Replace(ContentSecurityPolicy, "connect-src 'self'", "connect-src 'self'"+b.String(), 1))
	}
}
