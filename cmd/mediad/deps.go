package main

import (
	_ "github.com/asticode/go-astiav"
	_ "github.com/bluenviron/gortmplib"
	_ "github.com/bluenviron/gortmplib/pkg/codecs"
	_ "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	_ "github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	_ "github.com/chromedp/chromedp"
	_ "github.com/gin-gonic/gin"
	_ "github.com/pion/interceptor"
	_ "github.com/pion/interceptor/pkg/cc"
	_ "github.com/pion/interceptor/pkg/gcc"
	_ "github.com/pion/rtcp"
	_ "github.com/pion/sdp/v3"
	_ "github.com/pion/webrtc/v4"
	_ "github.com/pion/webrtc/v4/pkg/media"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.uber.org/goleak"
	_ "gopkg.in/yaml.v3"
	_ "golang.org/x/image/font"
	_ "github.com/mutstream/mutstream/stream"
)

func main() {}
