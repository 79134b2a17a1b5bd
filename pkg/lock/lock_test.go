package lock

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sample() *Lock {
	return &Lock{Image: "app", Inputs: "sha256:" + hex64('a'), Parent: &Parent{Name: "base", Lock: "sha256:" + hex64('b')},
		Platforms: map[string]*Packages{
			"linux/arm64": {Apt: []AptPackage{{Name: "libjq1", Version: "1.6-2.1", Arch: "arm64"}, {Name: "jq", Version: "1.6-2.1", Arch: "arm64"}}},
			"linux/amd64": {Apt: []AptPackage{{Name: "jq", Version: "1.6-2.1", Arch: "amd64"}},
				Pip: []Dist{{Name: "idna", Version: "3.6", URL: "http://x/idna.whl", SHA256: hex64('c')}, {Name: "acme-demo", Version: "1.0", URL: "http://x/a.whl", SHA256: hex64('d')}}},
		}}
}

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// A lock written and read back is the same bytes and the same digest,
// also when its lists are empty, and writing it never changes it (plan
// reads locks concurrently).
func TestRoundTrip(t *testing.T) {
	l := sample()
	l.Platforms["linux/s390x"] = &Packages{Pip: []Dist{}}
	path := filepath.Join(t.TempDir(), "locks", "app.lock.json")
	require.NoError(t, Write(path, l))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	back, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(back.Marshal()))
	assert.Equal(t, l.Digest(), back.Digest())
	assert.Equal(t, "jq", l.Platforms["linux/arm64"].Apt[1].Name, "Marshal sorts a copy")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); assert.Equal(t, l.Digest(), back.Digest()) }()
	}
	wg.Wait()
	assert.Contains(t, string(b), "\"r\": []")
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"{\n  \"format_version\": \"1\",\n  \"image\": 3\n}", "x.json:3:12: image: want string, got number"},
		{"{\n  \"format_version\": \"1\",\n  oops\n}", "x.json:3:3: invalid character 'o'"},
		{`{"format_version":"2","image":"a","inputs":"sha256:` + hex64('a') + `"}`, `x.json: format_version "2": this imgctl reads "1"`},
		{`{"format_version":"1","image":"a","inputs":"x"}`, `x.json: inputs "x" is not a sha256 digest`},
		{`{"format_version":"1","image":"a","inputs":"sha256:` + hex64('a') + `","extra":1}`, `unknown field "extra"`},
	} {
		_, err := Parse("x.json", []byte(tc.in))
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestChangesAndSummary(t *testing.T) {
	old := sample()
	new := sample()
	new.Platforms["linux/amd64"].Pip = []Dist{{Name: "acme-demo", Version: "1.1", URL: "u", SHA256: hex64('e')}, {Name: "idna", Version: "3.6", URL: "u", SHA256: hex64('c')}, {Name: "six", Version: "1.16", URL: "u", SHA256: hex64('f')}}
	new.Platforms["linux/amd64"].Apt = nil
	ch := Changes(old, new)
	assert.Equal(t, []Change{
		{Ecosystem: "apt", Name: "jq", From: "1.6-2.1"},
		{Ecosystem: "pip", Name: "acme-demo", From: "1.0", To: "1.1"},
		{Ecosystem: "pip", Name: "six", To: "1.16"},
	}, ch, "jq is removed on amd64 only; arm64 is unchanged")
	assert.Equal(t, "acme-demo 1.0 → 1.1, +1 (six 1.16), -1 (jq 1.6-2.1)", Summary(ch, 5))
	assert.Len(t, Changes(nil, new), 5, "everything is added")
	assert.Equal(t, "no package changes", Summary(nil, 5))
}

func TestStale(t *testing.T) {
	in := Inputs{Platforms: []string{"linux/amd64", "linux/arm64"}, Apt: []string{"jq", "curl"}, Parent: &Parent{Name: "base", Lock: "sha256:1"}}
	l := &Lock{Inputs: in.Digest(), Parent: in.Parent, Platforms: map[string]*Packages{"linux/amd64": {}, "linux/arm64": {}}}
	assert.Empty(t, Stale(l, in))
	reordered := in
	reordered.Apt = []string{"curl", "jq"}
	assert.Empty(t, Stale(l, reordered), "package lists are sets")
	more := in
	more.Apt = []string{"jq", "curl", "make"}
	assert.Equal(t, "the spec's packages or their sources changed since it was resolved", Stale(l, more))
	moved := in
	moved.Parent = &Parent{Name: "base", Lock: "sha256:2"}
	assert.Equal(t, "parent base's lock changed since it was resolved", Stale(l, moved))
}

func TestParseProbes(t *testing.T) {
	d, err := ParseApt([]byte("B\tlibc6\t2.36-9\tamd64\nB\tzlib1g\t1:1.2.13\tamd64\nA\tlibc6\t2.36-9+deb12u1\tamd64\nA\tzlib1g\t1:1.2.13\tamd64\nA\tjq\t1.6\tamd64\n"))
	require.NoError(t, err)
	assert.Equal(t, []AptPackage{{"libc6", "2.36-9+deb12u1", "amd64"}, {"jq", "1.6", "amd64"}}, d.Added)
	assert.Equal(t, map[string]string{"libc6": "2.36-9"}, d.Moved)
	_, err = ParseApt([]byte("X\tjq\n"))
	assert.ErrorContains(t, err, "line 1")

	ds, err := ParsePipReport([]byte(`{"version":"1","install":[{"download_info":{"url":"http://u:p@h/files/Acme_Demo-1.0.whl","archive_info":{"hash":"sha256=` + hex64('a') + `"}},"metadata":{"name":"Acme_Demo","version":"1.0"}}]}`))
	require.NoError(t, err)
	assert.Equal(t, []Dist{{Name: "acme-demo", Version: "1.0", URL: "http://h/files/Acme_Demo-1.0.whl", SHA256: hex64('a')}}, ds)
	_, err = ParsePipReport([]byte(`{"version":"1","install":[{"download_info":{"url":"http://h/x.whl"},"metadata":{"name":"x","version":"1"}}]}`))
	assert.ErrorContains(t, err, "without a sha256")

	rs, err := ParseR([]byte("hello\t1.0\thttp://h/src/contrib/hello_1.0.tar.gz\t" + hex64('b') + "\n"))
	require.NoError(t, err)
	assert.Equal(t, "hello", rs[0].Name)
	assert.Equal(t, "acme-demo", NormalizePip("Acme_._Demo"))
}
