package web

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// maxChainBody bounds a PUT of a mutation chain.
const maxChainBody = 64 << 10

// admin lets through requests with the admin bearer token.
func (a *api) admin(c *gin.Context) {
	scheme, tok, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	want := a.opts.AdminToken
	if want == "" || !strings.EqualFold(scheme, "Bearer") ||
		subtle.ConstantTimeCompare([]byte(want), []byte(strings.TrimSpace(tok))) != 1 {
		metrics.HTTPRejected.WithLabelValues("api", "401").Inc()
		c.Header("WWW-Authenticate", `Bearer realm="mediad admin"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "changing mutations needs the admin bearer token"})
	}
}

func (a *api) getMutations(c *gin.Context) {
	res, err := a.opts.Mutations.Chain(c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

func (a *api) putMutations(c *gin.Context) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxChainBody+1))
	if err != nil {
		a.fail(c, err)
		return
	}
	if len(body) > maxChainBody {
		metrics.HTTPRejected.WithLabelValues("api", "413").Inc()
		c.JSON(http.StatusRequestEntityTooLarge, gin.H{"error": "a chain is at most 64 KiB of JSON"})
		return
	}
	res, err := a.opts.Mutations.SetChain(c.Param("name"), body)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// deleteMutations clears a stream's chain, as PUT [] does.
func (a *api) deleteMutations(c *gin.Context) {
	res, err := a.opts.Mutations.SetChain(c.Param("name"), []byte("[]"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// fail answers an API error with its status and JSON.
func (a *api) fail(c *gin.Context, err error) {
	var ce *gpu.ChainError
	status := http.StatusInternalServerError
	body := gin.H{"error": err.Error()}
	switch {
	case errors.As(err, &ce):
		status = http.StatusBadRequest
		body = gin.H{"error": ce.Error(), "index": ce.Index, "op": ce.Op, "field": ce.Field}
	case errors.Is(err, stream.ErrNotFound):
		status = http.StatusNotFound
		body = gin.H{"error": "no stream named " + c.Param("name")}
	case a.opts.OverBudget != nil && errors.Is(err, a.opts.OverBudget):
		status = http.StatusUnprocessableEntity
	case a.opts.Busy != nil && errors.Is(err, a.opts.Busy):
		status = http.StatusServiceUnavailable
		c.Header("Retry-After", "1")
	}
	metrics.HTTPRejected.WithLabelValues("api", strconv.Itoa(status)).Inc()
	c.JSON(status, body)
}

// events streams a stream's events as server-sent events until the client
// leaves; a comment line every 15 s keeps proxies from closing it.
func (a *api) events(c *gin.Context) {
	st, err := a.hub.Lookup(c.Param("name"))
	if errors.Is(err, stream.ErrNotFound) {
		a.fail(c, err)
		return
	}
	ch, cancel := st.SubscribeEvents(256)
	defer cancel()
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	_, _ = io.WriteString(c.Writer, ": mediad events for "+st.Name()+"\n\n")
	c.Writer.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case <-a.opts.Done:
			return
		case ev := <-ch:
			if _, err := io.WriteString(c.Writer, "data: "+string(ev)+"\n\n"); err != nil {
				return
			}
			c.Writer.Flush()
		case <-keep.C:
			if _, err := io.WriteString(c.Writer, ": keep-alive\n\n"); err != nil {
				return
			}
			c.Writer.Flush()
		}
	}
}
