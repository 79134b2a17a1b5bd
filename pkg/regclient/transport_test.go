package regclient

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

type okTransport struct{}

func (okTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK}, nil
}

func TestPlainHTTPGuard(t *testing.T) {
	g := &plainHTTPGuard{inner: okTransport{}, insecure: func(h string) bool { return h == "10.0.0.9:5000" }}
	for url, allowed := range map[string]bool{
		"https://10.0.0.8:5000/v2/":    true,
		"http://127.0.0.1:5000/v2/":    true,
		"http://localhost:5000/v2/":    true,
		"http://[::1]:5000/v2/":        true,
		"http://10.0.0.9:5000/v2/":     true, // marked insecure
		"http://10.0.0.8:5000/v2/":     false,
		"http://registry.corp:80/v2/":  false,
		"http://192.168.1.10:5000/v2/": false,
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		_, err := g.RoundTrip(req)
		if allowed {
			assert.NoError(t, err, url)
		} else {
			assert.ErrorContains(t, err, "refusing plain HTTP", url)
			var ph *PlainHTTPError
			assert.ErrorAs(t, err, &ph, url)
			assert.Equal(t, req.URL.Host, ph.Host)
		}
	}
}

func TestPlainHTTP(t *testing.T) {
	c := New(WithInsecure("registry.corp:5000"))
	assert.True(t, c.PlainHTTP("localhost:5000/datasci"))
	assert.True(t, c.PlainHTTP("127.0.0.1:5000/datasci"))
	assert.True(t, c.PlainHTTP("registry.corp:5000/datasci"))
	assert.False(t, c.PlainHTTP("registry.corp/datasci"))
	assert.False(t, c.PlainHTTP("10.0.0.8:5000/datasci"))
}
