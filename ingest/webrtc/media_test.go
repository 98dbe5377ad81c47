package webrtc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// testMedia is what the test publisher sends: H.264 High with B-frames and
// Opus, made once with the ffmpeg CLI.
type testMedia struct {
	aus  []accessUnit
	opus [][]byte // 20 ms packets
}

// accessUnit is one encoded picture in decode order.
type accessUnit struct {
	nalus [][]byte
	pts   time.Duration
	dts   time.Duration
	key   bool
}

// slicesKey identifies an access unit by its slice NAL units.
func slicesKey(nalus [][]byte) string {
	var b bytes.Buffer
	for _, n := range nalus {
		if len(n) > 0 && (n[0]&0x1f == naluIDR || n[0]&0x1f == naluNonIDR) {
			b.Write(n)
		}
	}
	return b.String()
}

const mediaSeconds = 4

var (
	mediaOnce sync.Once
	mediaDir  string
	mediaVal  *testMedia
	mediaErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if mediaDir != "" {
		_ = os.RemoveAll(mediaDir)
	}
	os.Exit(code)
}

// loadMedia makes the test media, or skips the test when ffmpeg is missing.
func loadMedia(t *testing.T) *testMedia {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: this test needs the ffmpeg CLI to make its media", tool)
		}
	}
	mediaOnce.Do(func() { mediaVal, mediaErr = makeMedia() })
	if mediaErr != nil {
		t.Fatalf("make test media: %v", mediaErr)
	}
	return mediaVal
}

func makeMedia() (*testMedia, error) {
	dir, err := os.MkdirTemp("", "whip-media-")
	if err != nil {
		return nil, err
	}
	mediaDir = dir
	mp4, h264, ogg := filepath.Join(dir, "v.mp4"), filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	secs := strconv.Itoa(mediaSeconds)
	cmds := [][]string{
		{"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", secs,
			"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "2", "-g", "30",
			"-x264-params", "aud=1:scenecut=0", "-pix_fmt", "yuv420p", mp4},
		{"ffmpeg", "-v", "error", "-y", "-i", mp4, "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", h264},
		{"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", secs,
			"-c:a", "libopus", "-b:a", "48k", "-page_duration", "20000", "-f", "ogg", ogg},
	}
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return nil, errors.New(strings.Join(c, " ") + ": " + err.Error() + ": " + string(out))
		}
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time,dts_time,flags", "-of", "csv=p=0", mp4).Output()
	if err != nil {
		return nil, err
	}
	m := &testMedia{}
	for _, line := range strings.Split(strings.TrimSpace(string(probe)), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			return nil, errors.New("ffprobe line " + line)
		}
		pts, err1 := strconv.ParseFloat(f[0], 64)
		dts, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			return nil, errors.New("ffprobe line " + line)
		}
		m.aus = append(m.aus, accessUnit{
			pts: time.Duration(pts * float64(time.Second)),
			dts: time.Duration(dts * float64(time.Second)),
			key: strings.HasPrefix(f[2], "K"),
		})
	}
	if err := readAccessUnits(h264, m.aus); err != nil {
		return nil, err
	}
	if m.opus, err = readOpus(ogg); err != nil {
		return nil, err
	}
	return m, nil
}

// readAccessUnits fills aus with the NAL units of the Annex-B file, cut at
// access unit delimiters.
func readAccessUnits(path string, aus []accessUnit) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := h264reader.NewReaderWithOptions(f, h264reader.WithIncludeSEI(true))
	if err != nil {
		return err
	}
	// mp4toannexb puts parameter sets before the delimiter: a NAL unit
	// that is no slice and follows a slice opens the next access unit.
	i := -1
	var prefix [][]byte
	hasSlice := false
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		data := append([]byte(nil), nal.Data...)
		isSlice := nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr
		switch {
		case nal.UnitType == h264reader.NalUnitTypeAUD:
			i++
			if i >= len(aus) {
				return errors.New("more access units than ffprobe's packets")
			}
			aus[i].nalus, prefix, hasSlice = prefix, nil, false
		case isSlice && i >= 0:
			aus[i].nalus = append(aus[i].nalus, data)
			hasSlice = true
		case !isSlice && (i < 0 || hasSlice):
			prefix = append(prefix, data)
		case i >= 0:
			aus[i].nalus = append(aus[i].nalus, data)
		default:
			return errors.New("slice before any access unit delimiter")
		}
	}
	if i != len(aus)-1 {
		return errors.New("access unit count differs from ffprobe's")
	}
	return nil
}

func readOpus(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		page, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if _, ok := hdr.HeaderType(page); ok {
			continue // OpusTags
		}
		out = append(out, page)
	}
}

func TestMediaLoads(t *testing.T) {
	m := loadMedia(t)
	if len(m.aus) != 30*mediaSeconds || !m.aus[0].key || len(m.opus) < 45*mediaSeconds {
		t.Fatalf("%d access units (first key %v), %d opus packets", len(m.aus), m.aus[0].key, len(m.opus))
	}
	reordered := false
	for i := 1; i < len(m.aus); i++ {
		if m.aus[i].pts < m.aus[i-1].pts {
			reordered = true
		}
	}
	if !reordered {
		t.Fatal("no B-frames in the test media")
	}
}
