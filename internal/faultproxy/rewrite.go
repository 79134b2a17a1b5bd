package faultproxy

import (
	"net/http"
	"net/url"
	"strings"
)

// rewriteHeaders points absolute Location and Link URLs that address the
// registry (target) at the proxy (origin). Distribution answers blob
// upload requests with absolute Location URLs built from its own host; a
// client following them would bypass the proxy.
func rewriteHeaders(h http.Header, target, origin *url.URL) {
	if loc := h.Get("Location"); loc != "" {
		h.Set("Location", rewriteURL(loc, target, origin))
	}
	links := h.Values("Link")
	for i, v := range links {
		links[i] = rewriteLink(v, target, origin)
	}
}

// rewriteURL returns s with target's scheme, host and path prefix replaced
// by origin's scheme and host, if s is an absolute URL of target; else s.
func rewriteURL(s string, target, origin *url.URL) string {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Scheme != target.Scheme || !strings.EqualFold(u.Host, target.Host) {
		return s
	}
	u.Scheme, u.Host = origin.Scheme, origin.Host
	if prefix := strings.TrimSuffix(target.Path, "/"); prefix != "" && strings.HasPrefix(u.Path, prefix+"/") {
		u.Path = strings.TrimPrefix(u.Path, prefix)
		u.RawPath = ""
	}
	return u.String()
}

// rewriteLink rewrites the <URL>s of a Link header value (RFC 8288), e.g.
// `<http://registry/v2/_catalog?last=a&n=2>; rel="next"`.
func rewriteLink(v string, target, origin *url.URL) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(v[:i+1])
		b.WriteString(rewriteURL(v[i+1:i+j], target, origin))
		b.WriteByte('>')
		v = v[i+j+1:]
	}
	b.WriteString(v)
	return b.String()
}
