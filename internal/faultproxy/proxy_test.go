package faultproxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/internal/faultproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPassThrough(t *testing.T) {
	up := newUpstream(t)
	p, addr := e2etest.FaultProxy(t, up.addr)
	img := randomImage(t)

	require.NoError(t, remote.Write(tagAt(t, addr, "pass/img:v1"), img, noRetry...))
	assert.Equal(t, p.Stats().Requests, up.count(), "every request reached the registry once")
	assert.Positive(t, up.seen(http.MethodPatch, "/blobs/uploads/")+up.seen(http.MethodPut, "/blobs/uploads/"))

	for _, at := range []string{addr, up.addr} {
		got, err := remote.Image(tagAt(t, at, "pass/img:v1"), noRetry...)
		require.NoError(t, err, at)
		assert.Equal(t, digest(t, img), digest(t, got), at)
		assert.NoError(t, readImage(got), at) // reads and verifies every blob
	}

	// HEAD passes unchanged: size, digest, media type.
	via, err := remote.Head(tagAt(t, addr, "pass/img:v1"), noRetry...)
	require.NoError(t, err)
	direct, err := remote.Head(tagAt(t, up.addr, "pass/img:v1"), noRetry...)
	require.NoError(t, err)
	assert.Equal(t, direct, via)
	for _, path := range []string{"/v2/pass/img/manifests/v1", "/v2/pass/img/manifests/" + digest(t, img).String()} {
		vr, _ := get(t, http.DefaultClient, http.MethodHead, addr, path)
		dr, _ := get(t, http.DefaultClient, http.MethodHead, up.addr, path)
		for _, h := range []string{"Content-Length", "Content-Type", "Docker-Content-Digest"} {
			assert.NotEmpty(t, dr.Header.Get(h), h)
			assert.Equal(t, dr.Header.Get(h), vr.Header.Get(h), h)
		}
	}

	s := p.Stats()
	assert.Positive(t, s.Requests)
	assert.Len(t, s.Log, s.Requests)
	assert.Zero(t, s.Faults, s)
	for _, e := range s.Log {
		assert.Equal(t, faultproxy.Fault(0), e.Fault)
		assert.Equal(t, -1, e.Rule)
		assert.NotZero(t, e.Status, e)
	}
}

func TestStatus503(t *testing.T) {
	up := newUpstream(t)
	p, addr := e2etest.FaultProxy(t, up.addr)
	img := randomImage(t)
	require.NoError(t, remote.Write(tagAt(t, up.addr, "s/img:v1"), img))
	heads := up.seen(http.MethodHead, "/manifests/")
	p.SetRules(faultproxy.Rule{Path: "/manifests/", Fault: faultproxy.Status503})

	_, err := remote.Head(tagAt(t, addr, "s/img:v1"), noRetry...)
	var terr *transport.Error
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, http.StatusServiceUnavailable, terr.StatusCode)
	_, err = remote.Head(tagAt(t, up.addr, "s/img:v1"), noRetry...)
	assert.NoError(t, err, "direct")

	// GET gets the registry's error body; blobs are not matched.
	resp, body := get(t, http.DefaultClient, http.MethodGet, addr, "/v2/s/img/manifests/v1")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.JSONEq(t, `{"errors":[{"code":"UNAVAILABLE","message":"faultproxy: injected 503"}]}`, string(body))
	cfg, err := img.ConfigName()
	require.NoError(t, err)
	resp, _ = get(t, http.DefaultClient, http.MethodGet, addr, "/v2/s/img/blobs/"+cfg.String())
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	s := p.Stats()
	assert.Equal(t, 2, s.Faults, s)
	assert.Equal(t, 2, s.Rules[0].Faulted)
	assert.Equal(t, heads+1, up.seen(http.MethodHead, "/manifests/"), "only the direct HEAD reached the registry")
	assert.Zero(t, up.seen(http.MethodGet, "/manifests/"))
	want := faultproxy.Event{Method: "HEAD", Path: "/v2/s/img/manifests/v1", Fault: faultproxy.Status503, Rule: 0}
	assert.Equal(t, want, s.Log[1], s) // after remote's GET /v2/
	assert.Contains(t, s.String(), "HEAD /v2/s/img/manifests/v1 -> fault 503 before (rule 0)")
	assert.Contains(t, s.String(), "rule 0: * /manifests/ 503: 2 matched, 2 faulted")

	p.Clear()
	_, err = remote.Head(tagAt(t, addr, "s/img:v1"), noRetry...)
	assert.NoError(t, err, "after Clear")
}

func TestStatus429(t *testing.T) {
	up := newUpstream(t)
	p, addr := e2etest.FaultProxy(t, up.addr)
	p.SetRules(faultproxy.Rule{Method: http.MethodGet, Path: "^/v2/$", Fault: faultproxy.Status429})

	resp, body := get(t, http.DefaultClient, http.MethodGet, addr, "/v2/")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "0", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), `"TOOMANYREQUESTS"`)

	resp, _ = get(t, http.DefaultClient, http.MethodHead, addr, "/v2/")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "HEAD is not matched by a GET rule")
}

// isConnError reports whether err is what a client sees when the server
// cuts its connection.
func isConnError(err error) bool {
	var terr *transport.Error
	if err == nil || errors.As(err, &terr) {
		return false
	}
	s := err.Error()
	// net.ErrClosed: Go's transport closes the connection on the reset
	// while another goroutine still writes the request body.
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(s, "connection reset by peer") || strings.Contains(s, "broken pipe")
}

func TestReset(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   int64
	}{
		{"GET", http.MethodGet, "/v2/r/img/manifests/v1", 0},
		{"HEAD", http.MethodHead, "/v2/r/img/manifests/v1", 0},
		// A large upload: the reset comes while the client is still sending.
		{"PATCH", http.MethodPatch, "/v2/r/img/blobs/uploads/x", 32 << 20},
		{"PUT", http.MethodPut, "/v2/r/img/manifests/v1", 1 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t)
			p, addr := e2etest.FaultProxy(t, up.addr)
			p.SetRules(faultproxy.Rule{Method: tt.method, Path: "^/v2/r/", Fault: faultproxy.Reset})

			var body io.Reader
			if tt.body > 0 {
				body = io.LimitReader(zeros{}, tt.body)
			}
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, body)
			require.NoError(t, err)
			req.ContentLength = tt.body
			resp, err := freshConns.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			assert.True(t, isConnError(err), "want a connection error, got %v", err)
			assert.Zero(t, up.seen(tt.method, "^/v2/r/"), "the registry saw the request")
			assert.Equal(t, 1, p.Stats().Faults)
		})
	}

	t.Run("remote", func(t *testing.T) {
		up := newUpstream(t)
		p, addr := e2etest.FaultProxy(t, up.addr)
		img := randomImage(t)
		p.SetRules(faultproxy.Rule{Method: http.MethodPut, Path: "/manifests/", Fault: faultproxy.Reset})
		err := remote.Write(tagAt(t, addr, "r/img:v1"), img, noRetry...)
		assert.True(t, isConnError(err), "want a connection error, got %v", err)
		assert.Zero(t, up.seen(http.MethodPut, "/manifests/"))
		_, err = remote.Head(tagAt(t, up.addr, "r/img:v1"))
		var terr *transport.Error
		require.ErrorAs(t, err, &terr)
		assert.Equal(t, http.StatusNotFound, terr.StatusCode)
	})
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

func TestCount(t *testing.T) {
	up := newUpstream(t)
	p, addr := e2etest.FaultProxy(t, up.addr)
	p.SetRules(
		faultproxy.Rule{Path: "^/v2/$", Fault: faultproxy.Status503, Count: 2},
		faultproxy.Rule{Path: "^/v2/$", Fault: faultproxy.Status429, Count: 1},
	)
	var got []int
	for range 5 {
		resp, _ := get(t, http.DefaultClient, http.MethodGet, addr, "/v2/")
		got = append(got, resp.StatusCode)
	}
	assert.Equal(t, []int{503, 503, 429, 200, 200}, got)
	s := p.Stats()
	assert.Equal(t, []faultproxy.RuleStats{
		{Rule: faultproxy.Rule{Path: "^/v2/$", Fault: faultproxy.Status503, Count: 2}, Matched: 5, Faulted: 2},
		{Rule: faultproxy.Rule{Path: "^/v2/$", Fault: faultproxy.Status429, Count: 1}, Matched: 3, Faulted: 1},
	}, s.Rules)
	assert.Equal(t, 2, up.seen(http.MethodGet, "^/v2/$"))
}

func TestPhaseAfter(t *testing.T) {
	for _, fault := range []faultproxy.Fault{faultproxy.Status503, faultproxy.Status429, faultproxy.Reset} {
		t.Run(fault.String(), func(t *testing.T) {
			up := newUpstream(t)
			p, addr := e2etest.FaultProxy(t, up.addr)
			img := randomImage(t)
			p.SetRules(faultproxy.Rule{Method: http.MethodPut, Path: "/manifests/", Fault: fault, Phase: faultproxy.After, Count: 1})

			err := remote.Write(tagAt(t, addr, "a/img:v1"), img, noRetry...)
			require.Error(t, err)
			if fault == faultproxy.Reset {
				assert.True(t, isConnError(err), "want a connection error, got %v", err)
			} else {
				var terr *transport.Error
				require.ErrorAs(t, err, &terr)
				assert.Equal(t, fault.String(), fmt.Sprint(terr.StatusCode))
			}

			// The write landed.
			assert.Equal(t, 1, up.seen(http.MethodPut, "/manifests/v1$"))
			d, err := remote.Head(tagAt(t, up.addr, "a/img:v1"))
			require.NoError(t, err)
			assert.Equal(t, digest(t, img), d.Digest)
			s := p.Stats()
			last := s.Log[len(s.Log)-1]
			assert.Equal(t, faultproxy.Event{Method: "PUT", Path: "/v2/a/img/manifests/v1", Fault: fault, Phase: faultproxy.After, Rule: 0, Status: http.StatusCreated}, last)

			// Writing again is harmless.
			require.NoError(t, remote.Write(tagAt(t, addr, "a/img:v1"), img, noRetry...))
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Run("held until the client gives up", func(t *testing.T) {
		up := newUpstream(t)
		p, addr := e2etest.FaultProxy(t, up.addr)
		p.SetRules(faultproxy.Rule{Path: "^/v2/$", Fault: faultproxy.Timeout})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
		require.NoError(t, err)
		_, err = http.DefaultClient.Do(req)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, up.seen(http.MethodGet, "^/v2/$"))
	})

	t.Run("delay", func(t *testing.T) {
		up := newUpstream(t)
		p, addr := e2etest.FaultProxy(t, up.addr)
		p.SetRules(faultproxy.Rule{Path: "^/v2/$", Fault: faultproxy.Timeout, Delay: 100 * time.Millisecond})
		start := time.Now()
		resp, _ := get(t, http.DefaultClient, http.MethodGet, addr, "/v2/")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
		assert.Equal(t, 1, up.seen(http.MethodGet, "^/v2/$"))
	})

	t.Run("after", func(t *testing.T) {
		up := newUpstream(t)
		p, addr := e2etest.FaultProxy(t, up.addr)
		img := randomImage(t)
		p.SetRules(faultproxy.Rule{Method: http.MethodPut, Path: "/manifests/", Fault: faultproxy.Timeout, Phase: faultproxy.After})
		// The client gives up once the manifest PUT is held.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for ctx.Err() == nil && p.Stats().Faults == 0 {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			cancel()
		}()
		err := remote.Write(tagAt(t, addr, "t/img:v1"), img, append(noRetry, remote.WithContext(ctx))...)
		assert.ErrorIs(t, err, context.Canceled)
		d, err := remote.Head(tagAt(t, up.addr, "t/img:v1"))
		require.NoError(t, err, "the write landed")
		assert.Equal(t, digest(t, img), d.Digest)
	})

	t.Run("after with delay", func(t *testing.T) {
		up := newUpstream(t)
		p, addr := e2etest.FaultProxy(t, up.addr)
		img := randomImage(t)
		require.NoError(t, remote.Write(tagAt(t, up.addr, "t/img:v1"), img))
		p.SetRules(faultproxy.Rule{Method: http.MethodGet, Path: "/manifests/", Fault: faultproxy.Timeout, Phase: faultproxy.After, Delay: 100 * time.Millisecond})
		start := time.Now()
		got, err := remote.Image(tagAt(t, addr, "t/img:v1"), noRetry...)
		require.NoError(t, err)
		assert.Equal(t, digest(t, img), digest(t, got))
		assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	})

	t.Run("released by Close", func(t *testing.T) {
		up := newUpstream(t)
		p, addr := e2etest.FaultProxy(t, up.addr)
		p.SetRules(faultproxy.Rule{Fault: faultproxy.Timeout})
		errc := make(chan error, 1)
		go func() {
			resp, err := http.Get("http://" + addr + "/v2/")
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		require.Eventually(t, func() bool { return p.Stats().Requests == 1 }, 5*time.Second, 10*time.Millisecond)
		p.Close()
		select {
		case err := <-errc:
			assert.True(t, isConnError(err), "want a connection error, got %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("request still held after Close")
		}
	})
}

func TestTruncateBody(t *testing.T) {
	up := newUpstream(t)
	p, addr := e2etest.FaultProxy(t, up.addr)
	img := randomImage(t)
	require.NoError(t, remote.Write(tagAt(t, up.addr, "tb/img:v1"), img))
	layers, err := img.Layers()
	require.NoError(t, err)
	ld, err := layers[0].Digest()
	require.NoError(t, err)
	size, err := layers[0].Size()
	require.NoError(t, err)
	p.SetRules(faultproxy.Rule{Path: "/blobs/", Fault: faultproxy.TruncateBody})
	path := "/v2/tb/img/blobs/" + ld.String()

	resp, err := http.Get("http://" + addr + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, fmt.Sprint(size), resp.Header.Get("Content-Length"))
	assert.Equal(t, ld.String(), resp.Header.Get("Docker-Content-Digest"))
	b, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Len(t, b, int(size/2))

	// HEAD has no body to cut: the client gets the headers.
	hr, err := http.Head("http://" + addr + path)
	require.NoError(t, err)
	hr.Body.Close()
	assert.Equal(t, http.StatusOK, hr.StatusCode)
	assert.Equal(t, fmt.Sprint(size), hr.Header.Get("Content-Length"))

	// go-containerregistry notices when it reads the blobs.
	got, err := remote.Image(tagAt(t, addr, "tb/img:v1"), noRetry...)
	require.NoError(t, err)
	assert.ErrorIs(t, readImage(got), io.ErrUnexpectedEOF)
	assert.Equal(t, 1, up.seen(http.MethodGet, "/blobs/"+ld.String()), "the registry answered the GET")
	s := p.Stats()
	assert.Equal(t, 3, s.Faults, s) // layer GET, layer HEAD, config GET
	assert.Equal(t, faultproxy.After, s.Log[0].Phase)
}

func TestRate(t *testing.T) {
	up := newUpstream(t)
	p, addr := e2etest.FaultProxy(t, up.addr)
	rule := faultproxy.Rule{Path: "^/v2/$", Rate: 0.2, Fault: faultproxy.Status503}
	p.SetRules(rule)
	faulted := 0
	for range 1000 {
		resp, _ := get(t, http.DefaultClient, http.MethodGet, addr, "/v2/")
		if resp.StatusCode == http.StatusServiceUnavailable {
			faulted++
		}
	}
	assert.GreaterOrEqual(t, faulted, 150)
	assert.LessOrEqual(t, faulted, 250)
	assert.Equal(t, []faultproxy.RuleStats{{Rule: rule, Matched: 1000, Faulted: faulted}}, p.Stats().Rules)
	assert.Equal(t, 1000-faulted, up.seen(http.MethodGet, "^/v2/$"))
}

// faultedRequests returns which of n sequential requests a Rate 0.3 rule
// faulted, on a proxy with opts.
func faultedRequests(t *testing.T, addr string, n int, opts ...faultproxy.Option) []int {
	p, paddr := e2etest.FaultProxy(t, addr, opts...)
	p.SetRules(faultproxy.Rule{Rate: 0.3, Fault: faultproxy.Status503})
	var got []int
	for i := range n {
		resp, _ := get(t, http.DefaultClient, http.MethodGet, paddr, "/v2/")
		if resp.StatusCode == http.StatusServiceUnavailable {
			got = append(got, i)
		}
	}
	return got
}

func TestSeed(t *testing.T) {
	up := newUpstream(t)
	a := faultedRequests(t, up.addr, 100)
	assert.Equal(t, a, faultedRequests(t, up.addr, 100), "default seed")
	assert.Equal(t, a, faultedRequests(t, up.addr, 100, faultproxy.WithSeed(1)), "the default seed is 1")
	b := faultedRequests(t, up.addr, 100, faultproxy.WithSeed(42))
	assert.Equal(t, b, faultedRequests(t, up.addr, 100, faultproxy.WithSeed(42)))
	assert.NotEqual(t, a, b)

	// Setting the rules again starts the sequence over.
	p, addr := e2etest.FaultProxy(t, up.addr, faultproxy.WithSeed(42))
	for range 2 {
		p.SetRules(faultproxy.Rule{Rate: 0.3, Fault: faultproxy.Status503})
		var got []int
		for i := range 100 {
			if resp, _ := get(t, http.DefaultClient, http.MethodGet, addr, "/v2/"); resp.StatusCode == http.StatusServiceUnavailable {
				got = append(got, i)
			}
		}
		assert.Equal(t, b, got)
	}
}

func TestConcurrentRules(t *testing.T) {
	up := newUpstream(t)
	p, addr := e2etest.FaultProxy(t, up.addr)
	const workers, each = 8, 50
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		faults int
	)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			p.SetRules(faultproxy.Rule{Rate: 0.5, Fault: faultproxy.Status503})
			_ = p.Stats()
			time.Sleep(time.Millisecond)
			p.Clear()
		}
	}()
	for range workers {
		wg.Go(func() {
			for range each {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/", nil)
				resp, err := http.DefaultClient.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable {
					mu.Lock()
					faults++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(done)
	s := p.Stats()
	assert.Equal(t, workers*each, s.Requests)
	assert.Len(t, s.Log, workers*each)
	assert.Equal(t, faults, s.Faults)
	assert.Equal(t, workers*each-faults, up.seen(http.MethodGet, "^/v2/$"))
}

func TestInvalidRules(t *testing.T) {
	p := faultproxy.New(nil)
	for _, r := range []faultproxy.Rule{
		{},
		{Fault: faultproxy.Timeout + 1},
		{Fault: faultproxy.Reset, Phase: faultproxy.After + 1},
		{Fault: faultproxy.Reset, Rate: 1.5},
		{Fault: faultproxy.Reset, Rate: -0.1},
		{Fault: faultproxy.Reset, Count: -1},
		{Fault: faultproxy.Timeout, Delay: -time.Second},
		{Fault: faultproxy.Reset, Path: "("},
	} {
		assert.Panics(t, func() { p.SetRules(r) }, "%+v", r)
	}
}

// TestStreams: bodies are not buffered in either direction.
func TestStreams(t *testing.T) {
	const half = 256 << 10
	release := make(chan struct{})
	got := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Length", fmt.Sprint(2*half))
			_, _ = w.Write(make([]byte, half))
			http.NewResponseController(w).Flush()
			<-release
			_, _ = w.Write(make([]byte, half))
		case http.MethodPut:
			_, err := io.ReadFull(r.Body, make([]byte, half))
			if err == nil {
				close(got)
			}
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusCreated)
		}
	}))
	t.Cleanup(s.Close)
	_, addr := faultproxy.Start(t, s.URL)

	resp, err := http.Get("http://" + addr + "/blob")
	require.NoError(t, err)
	defer resp.Body.Close()
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(resp.Body, make([]byte, half/2))
		read <- err
	}()
	select {
	case err := <-read:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("response body not streamed")
	}
	close(release)
	n, err := io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	assert.Equal(t, int64(2*half-half/2), n)

	pr, pw := io.Pipe()
	put := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/upload", pr)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		put <- err
	}()
	_, err = pw.Write(make([]byte, half))
	require.NoError(t, err)
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("request body not streamed")
	}
	_, err = pw.Write(make([]byte, half))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, <-put)
}
