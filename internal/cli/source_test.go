package cli

import "testing"

func TestPublicSource(t *testing.T) {
	for _, c := range []struct{ remote, want string }{
		{"", ""},
		{"https://github.com/org/images.git", "https://github.com/org/images.git"},
		{"https://x-access-token:ghs_secret@github.com/org/images.git", "https://github.com/org/images.git"},
		{"http://git.internal/images", "http://git.internal/images"},
		{"ssh://git@git.internal:2222/org/images.git", "ssh://git@git.internal:2222/org/images.git"},
		{"git@github.com:org/images.git", "git@github.com:org/images.git"},
		{"file:///home/alice/images", ""},
		{"/home/alice/images", ""},
		{"../images", ""},
		{"./a:b", ""},
		{"host:", ""},
	} {
		if got := publicSource(c.remote); got != c.want {
			t.Errorf("publicSource(%q) = %q, want %q", c.remote, got, c.want)
		}
	}
}
