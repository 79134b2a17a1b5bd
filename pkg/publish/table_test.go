package publish_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/imgctl/imgctl/pkg/lock"
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
			name: "a pool and changes: the daemon before the changes",
			images: []publish.Built{
				{Image: "base", Version: "2026.11.01", Digest: d1, Duration: 1500 * time.Millisecond, Daemon: "unix:///run/bk0.sock", Changes: "+2 −1 packages since 2026.10.01"},
				{Image: "python3", Version: "2026.11.01.1", Digest: d2, Duration: 12 * time.Second, Daemon: "unix:///run/bk12.sock"},
			},
			want: `
IMAGE    TAG            DIGEST                                                                   BUILD TIME  DAEMON                 CHANGES
base     2026.11.01     ` + d1 + `  1.5s        unix:///run/bk0.sock   +2 −1 packages since 2026.10.01
python3  2026.11.01.1   ` + d2 + `  12.0s       unix:///run/bk12.sock  -
2 images built, 3 tags written, 1 versions marked deprecated.
`,
		},
		{
			name: "unlocked packages are listed after the table",
			images: []publish.Built{{Image: "python3", Version: "2026.11.01", Digest: d1, Duration: time.Second,
				Unlocked: []lock.Unlocked{{Platform: "linux/amd64", Ecosystem: "pip", Name: "setuptools", Version: "66.1.1"}}}},
			want: `
IMAGE    TAG            DIGEST                                                                   BUILD TIME
python3  2026.11.01     ` + d1 + `  1.0s
1 images built, 3 tags written, 1 versions marked deprecated.
python3 2026.11.01: 1 package a run: step installed outside the lock: pip setuptools 66.1.1.
`,
		},
		{
			name:   "one daemon: no column",
			images: []publish.Built{{Image: "base", Version: "2026.11.01", Digest: d1, Duration: time.Second}},
			want: `
IMAGE  TAG            DIGEST                                                                   BUILD TIME
base   2026.11.01     ` + d1 + `  1.0s
1 images built, 3 tags written, 1 versions marked deprecated.
`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := publish.Result{Images: c.images, Tags: 3, Marked: 1}
			var b strings.Builder
			r.WriteTable(&b)
			assert.Equal(t, strings.TrimPrefix(c.want, "\n"), b.String())
		})
	}
}
