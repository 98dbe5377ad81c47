package cluster

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/stream"
)

// TestParseLadder: an edge installs every feed of every codec it can pull
// from the origin's stream info, each with its codec.
func TestParseLadder(t *testing.T) {
	h := func(name string, w int) stream.FeedInfo {
		return stream.FeedInfo{Name: name, Codec: stream.CodecH264, Width: w}
	}
	v := func(name string, w int) stream.FeedInfo {
		return stream.FeedInfo{Name: name, Codec: stream.CodecVP8, Width: w}
	}
	for _, c := range []struct {
		name, body string
		want       []stream.FeedInfo
		err        string
	}{
		{name: "H.264 and VP8",
			body: `{"live":true,"rungs":[{"name":"360p","codec":"h264","width":640},{"name":"240p","codec":"h264","width":426}],
				"codecs":["h264","vp8"],
				"feeds":[{"name":"360p","codec":"h264","width":640},{"name":"240p","codec":"h264","width":426},{"name":"360p","codec":"vp8","width":640},{"name":"240p","codec":"vp8","width":426}]}`,
			want: []stream.FeedInfo{h("360p", 640), h("240p", 426), v("360p", 640), v("240p", 426)}},
		{name: "VP8 source and twins",
			body: `{"live":true,"rungs":[{"name":"240p","codec":"h264","width":426}],"codecs":["h264","vp8"],
				"feeds":[{"name":"240p","codec":"h264","width":426},{"name":"source","codec":"vp8","width":1280},{"name":"240p","codec":"vp8","width":426}]}`,
			want: []stream.FeedInfo{h("240p", 426), v("source", 1280), v("240p", 426)}},
		{name: "an origin that lists rungs only",
			body: `{"live":true,"rungs":[{"name":"240p","codec":"","width":426}]}`,
			want: []stream.FeedInfo{h("240p", 426)}},
		{name: "a codec an edge cannot pull",
			body: `{"live":true,"codecs":["av1","h264"],"feeds":[{"name":"240p","codec":"av1"},{"name":"240p","codec":"h264","width":426}]}`,
			want: []stream.FeedInfo{h("240p", 426)}},
		{name: "only codecs an edge cannot pull",
			body: `{"live":true,"codecs":["av1"],"feeds":[{"name":"240p","codec":"av1"}]}`,
			err:  "no rung in a codec"},
		{name: "not live", body: `{"live":false,"rungs":[],"feeds":[]}`, err: "not live"},
		{name: "live, no ladder yet", body: `{"live":true,"rungs":[],"feeds":[]}`, err: "not live"},
		{name: "bad JSON", body: `{"live":true,"feeds":{}}`, err: "bad stream info"},
	} {
		got, err := parseLadder([]byte(c.body))
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, %v; want an error with %q", c.name, got, err, c.err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !reflect.DeepEqual(got, c.want):
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}
