package publish_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/imgctl/imgctl/pkg/publish"
)

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func TestTableNamesTheDaemonOfEachImage(t *testing.T) {
	for _, c := range []struct {
		name   string
		images []publish.Built
		want   string
	}{
		{
			name: "a pool of daemons",
			images: []publish.Built{
				{Image: "base", Version: "2026.11.01", Digest: d1, Duration: 1500 * time.Millisecond, Daemon: "unix:///run/bk0.sock"},
				{Image: "python3", Version: "2026.11.01.1", Digest: d2, Duration: 12 * time.Second, Daemon: "tcp://buildkitd-1.buildkitd:1234"},
			},
			want: `
IMAGE    TAG            DIGEST                                                                   BUILD TIME  DAEMON
base     2026.11.01     ` + d1 + `  1.5s        unix:///run/bk0.sock
python3  2026.11.01.1   ` + d2 + `  12.0s       tcp://buildkitd-1.buildkitd:1234
2 images built, 3 tags written, 1 versions marked deprecated.
`,
		},
		{
			name:   "no daemon known: no column",
			images: []publish.Built{{Image: "base", Version: "2026.11.01", Digest: d1, Duration: time.Second}},
			want: `
IMAGE  TAG            DIGEST                                                                   BUILD TIME
base   2026.11.01     ` + d1 + `  1.0s
2 images built, 3 tags written, 1 versions marked deprecated.
`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := publish.Result{Images: c.images, Tags: 3, Marked: 1}
			var b strings.Builder
			r.WriteTable(&b)
			want := strings.TrimPrefix(c.want, "\n")
			if len(c.images) == 1 {
				want = strings.Replace(want, "2 images", "1 images", 1)
			}
			assert.Equal(t, want, b.String())
		})
	}
}
