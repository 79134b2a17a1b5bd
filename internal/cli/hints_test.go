package cli

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imgctl/imgctl/pkg/publish"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// TestHints: library packages return typed errors; the command line says
// what to do about them in its own terms.
func TestHints(t *testing.T) {
	err := fmt.Errorf("listing tags of x: %w", &regclient.PlainHTTPError{Host: "registry.corp:5000"})
	assert.Equal(t, []string{"pass --insecure-registry registry.corp:5000 if that registry has no TLS"}, hints(err))
	err = fmt.Errorf("%w: BuildKit at unix:///bk cannot build linux/arm64", publish.ErrPlatformUnsupported)
	assert.Len(t, hints(err), 1)
	assert.Contains(t, hints(err)[0], "hack/install-deps.sh binfmt")
	assert.Contains(t, hints(err)[0], "--buildkit")
	assert.Empty(t, hints(fmt.Errorf("something else")))
}
