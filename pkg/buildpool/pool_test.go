package buildpool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/buildretry"
	"github.com/imgctl/imgctl/pkg/spec"
)

// fake is one daemon: it records its builds, can hold them until
// released, fail them, and go down (then it no longer answers).
type fake struct {
	addr  string
	plats []string

	mu         sync.Mutex
	running    int
	maxRunning int
	builds     []string
	probes     int
	hold       chan struct{} // when set, builds wait for it to close
	started    chan string   // when set, receives the image of each build started
	fail       func(image string) error
	down       atomic.Bool
	closed     bool
}

func (f *fake) Build(ctx context.Context, req build.Request, _ chan *client.SolveStatus) (build.Result, error) {
	return f.build(ctx, req.Image.Name)
}

func (f *fake) BuildBinary(ctx context.Context, bi build.BinaryImage, _ chan *client.SolveStatus) (build.Result, error) {
	return f.build(ctx, bi.Repository)
}

func (f *fake) build(ctx context.Context, image string) (build.Result, error) {
	f.mu.Lock()
	f.running++
	f.maxRunning = max(f.maxRunning, f.running)
	f.builds = append(f.builds, image)
	hold, started, fail := f.hold, f.started, f.fail
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if started != nil {
		started <- image
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return build.Result{}, ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(image); err != nil {
			return build.Result{}, err
		}
	}
	if f.down.Load() {
		return build.Result{}, fmt.Errorf("building %s: error reading from server: EOF", image)
	}
	return build.Result{Digest: digest(image)}, nil
}

func (f *fake) Capabilities(context.Context) (build.Capabilities, error) {
	f.mu.Lock()
	f.probes++
	f.mu.Unlock()
	if f.down.Load() {
		return build.Capabilities{}, fmt.Errorf("listing the workers of BuildKit at %s: connection error: dial unix: connect: connection refused", f.addr)
	}
	var native []string
	if len(f.plats) > 0 {
		native = f.plats[:1]
	}
	return build.Capabilities{Platforms: f.plats, Native: native, Addr: f.addr}, nil
}

func (f *fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fake) built() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.builds...)
}

func digest(image string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(image)))
}

var (
	amd64 = []string{"linux/amd64"}
	both  = []string{"linux/amd64", "linux/arm64"}
)

// newPool makes a pool of fakes (nil: unreachable) with the options.
func newPool(t *testing.T, log *bytes.Buffer, daemons []*fake, opts ...Option) *Pool {
	t.Helper()
	p, err := dialFakes(daemons, log, opts...)
	require.NoError(t, err)
	return p
}

func dialFakes(daemons []*fake, log *bytes.Buffer, opts ...Option) (*Pool, error) {
	byAddr := map[string]*fake{}
	var targets []Target
	for i, f := range daemons {
		addr := fmt.Sprintf("unix:///run/bk%d.sock", i)
		if f != nil {
			f.addr = addr
			byAddr[addr] = f
		}
		targets = append(targets, Target{Addr: addr})
	}
	dial := func(_ context.Context, t Target) (Builder, error) {
		if f := byAddr[t.Addr]; f != nil {
			return f, nil
		}
		return nil, fmt.Errorf("connecting to BuildKit at %s: connection refused", t.Addr)
	}
	if log == nil {
		log = &bytes.Buffer{}
	}
	opts = append([]Option{WithDialer(dial), WithLogger(slog.New(slog.NewTextHandler(log, nil))), WithProbeTimeout(time.Second)}, opts...)
	return Dial(context.Background(), targets, opts...)
}

// req is a request for image, child of parent (built by the pool), on plats.
func req(image, parent string, plats ...string) build.Request {
	r := build.Request{Image: &spec.Image{Name: image, Platforms: plats}}
	if parent != "" {
		r.Base = "127.0.0.1:5000/lib/" + parent + "@" + digest(parent)
	}
	return r
}

func TestDialAndRequire(t *testing.T) {
	for _, c := range []struct {
		name     string
		daemons  []*fake
		needs    []Need
		err      string // "" for success
		warnings int
		line     string
	}{
		{
			name:    "all reachable",
			daemons: []*fake{{plats: both}, {plats: amd64}},
			needs:   []Need{{"py", both}},
			line:    "BuildKit pool: 2 daemons, 8 builds at a time each: unix:///run/bk0.sock [linux/amd64 linux/arm64], unix:///run/bk1.sock [linux/amd64]",
		},
		{
			name:     "an unreachable daemon is dropped when the rest suffice",
			daemons:  []*fake{{plats: both}, nil, {plats: amd64}},
			needs:    []Need{{"py", both}, {"r", amd64}},
			warnings: 1,
			line:     "BuildKit pool: 2 daemons, 8 builds at a time each: unix:///run/bk0.sock [linux/amd64 linux/arm64], unix:///run/bk2.sock [linux/amd64]; dropped: unix:///run/bk1.sock (connecting to BuildKit at unix:///run/bk1.sock: connection refused)",
		},
		{
			name:    "an unreachable daemon was needed",
			daemons: []*fake{nil, {plats: amd64}},
			needs:   []Need{{"py", both}, {"r", amd64}},
			err:     "no suitable BuildKit daemon: py (linux/amd64, linux/arm64): no daemon reached builds it; unix:///run/bk0.sock is unreachable (connecting to BuildKit at unix:///run/bk0.sock: connection refused); unix:///run/bk1.sock builds linux/amd64",
		},
		{
			name:    "platforms split across daemons",
			daemons: []*fake{{plats: []string{"linux/arm64"}}, {plats: amd64}},
			needs:   []Need{{"py", both}},
			err:     "no suitable BuildKit daemon: py (linux/amd64, linux/arm64): no single daemon builds all its platforms; unix:///run/bk0.sock builds linux/arm64; unix:///run/bk1.sock builds linux/amd64",
		},
		{
			name:    "a platform nobody builds is left to publish's check",
			daemons: []*fake{{plats: amd64}},
			needs:   []Need{{"py", both}},
			line:    "BuildKit pool: 1 daemon, 8 builds at a time each: unix:///run/bk0.sock [linux/amd64]",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			p := newPool(t, &log, c.daemons)
			err := p.Require(c.needs)
			if c.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrNoDaemon)
				assert.Equal(t, c.err, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.warnings, strings.Count(log.String(), "level=WARN"), log.String())
			if c.warnings > 0 {
				assert.Contains(t, log.String(), `msg="BuildKit daemon unreachable: dropped from the pool; the others build every platform needed" daemon=unix:///run/bk1.sock`)
			}
			assert.Equal(t, c.line, p.String())
		})
	}
}

func TestDialFailsWhenNoneReachable(t *testing.T) {
	_, err := dialFakes([]*fake{nil}, nil)
	assert.EqualError(t, err, "connecting to BuildKit at unix:///run/bk0.sock: connection refused", "one daemon: its own error")
	_, err = dialFakes([]*fake{nil, nil}, nil)
	assert.EqualError(t, err, "no BuildKit daemon of the pool can be reached: connecting to BuildKit at unix:///run/bk0.sock: connection refused\nconnecting to BuildKit at unix:///run/bk1.sock: connection refused")
	_, err = Dial(context.Background(), []Target{{Addr: "unix:///a"}, {Addr: "unix:///a"}})
	assert.EqualError(t, err, "making the BuildKit pool: daemon unix:///a is given twice")
	_, err = Dial(context.Background(), nil)
	assert.EqualError(t, err, "making the BuildKit pool: no daemon address")
	_, err = Dial(context.Background(), []Target{{Addr: "unix:///a"}}, WithJobs(0))
	assert.EqualError(t, err, "making the BuildKit pool: jobs per daemon 0: want at least 1")
}

func TestPrefersTheParentsDaemon(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	ctx := context.Background()
	res, err := p.Build(ctx, req("base", ""), nil)
	require.NoError(t, err)
	assert.Equal(t, a.addr, res.Daemon, "all idle: the first")
	// b is idle and has built less, but a's cache holds base.
	for _, child := range []string{"mid", "leaf"} {
		parent := map[string]string{"mid": "base", "leaf": "mid"}[child]
		res, err = p.Build(ctx, req(child, parent), nil)
		require.NoError(t, err)
		assert.Equal(t, a.addr, res.Daemon, child)
	}
	// Without a parent built here, the least busy: idle b has built less.
	res, err = p.Build(ctx, req("other", ""), nil)
	require.NoError(t, err)
	assert.Equal(t, b.addr, res.Daemon)
	assert.Equal(t, []string{"base", "mid", "leaf"}, a.built())
}

func TestLeastBusyWinsOverABusyParentDaemon(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	ctx := context.Background()
	_, err := p.Build(ctx, req("base", ""), nil)
	require.NoError(t, err)

	// Hold every build from now on, and watch where each starts.
	hold := make(chan struct{})
	for _, f := range []*fake{a, b} {
		f.hold, f.started = hold, make(chan string, 10)
	}
	var wg sync.WaitGroup
	start := func(image string, on *fake) {
		wg.Go(func() {
			_, err := p.Build(ctx, req(image, "base"), nil)
			assert.NoError(t, err)
		})
		assert.Equal(t, image, <-on.started, "%s should start on %s", image, on.addr)
	}
	start("c1", a) // parent's daemon, idle
	start("c2", a) // busy 1, b busy 0: within the affinity of 1
	start("c3", b) // busy 2 vs 0: the least busy
	start("c4", a) // 2 vs 1
	start("c5", b) // 3 vs 1
	close(hold)
	wg.Wait()
}

func TestAffinityZeroOnlyOnATie(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b}, WithAffinity(0))
	ctx := context.Background()
	_, err := p.Build(ctx, req("base", ""), nil)
	require.NoError(t, err)
	hold := make(chan struct{})
	a.hold, a.started, b.hold, b.started = hold, make(chan string, 4), hold, make(chan string, 4)
	var wg sync.WaitGroup
	for i, on := range []*fake{a, b, a} {
		image := fmt.Sprintf("c%d", i)
		wg.Go(func() { _, _ = p.Build(ctx, req(image, "base"), nil) })
		assert.Equal(t, image, <-on.started)
	}
	close(hold)
	wg.Wait()
}

func TestPlatformsChooseTheDaemon(t *testing.T) {
	x86, arm := &fake{plats: amd64}, &fake{plats: []string{"linux/amd64", "linux/arm64", "linux/riscv64"}}
	p := newPool(t, nil, []*fake{x86, arm})
	ctx := context.Background()
	for _, r := range []build.Request{req("multi1", "", "linux/arm64", "linux/amd64"), req("armonly", "", "linux/arm64"), req("multi2", "", "linux/amd64", "linux/arm64")} {
		res, err := p.Build(ctx, r, nil)
		require.NoError(t, err)
		assert.Equal(t, arm.addr, res.Daemon, r.Image.Name)
	}
	// An amd64 image (no platforms: the default) goes to the less used.
	res, err := p.Build(ctx, req("plain", ""), nil)
	require.NoError(t, err)
	assert.Equal(t, x86.addr, res.Daemon)
	_, err = p.Build(ctx, req("s390", "", "linux/s390x"), nil)
	assert.ErrorIs(t, err, ErrNoDaemon)
	assert.EqualError(t, err, "building s390: no suitable BuildKit daemon (it needs linux/s390x): unix:///run/bk0.sock builds only linux/amd64; unix:///run/bk1.sock builds only linux/amd64, linux/arm64, linux/riscv64")

	plats, err := p.Platforms(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"linux/amd64", "linux/arm64", "linux/riscv64"}, plats)
	assert.Equal(t, "unix:///run/bk0.sock, unix:///run/bk1.sock", p.Addr())
}

// The platforms the daemons run on are their workers' first, not the
// first of the sorted union: linux/386 sorts before linux/amd64, and a
// fresh amd64 host with binfmt handlers builds both.
func TestCapabilitiesNameTheNativePlatforms(t *testing.T) {
	x86 := &fake{plats: []string{"linux/amd64", "linux/arm64", "linux/386"}}
	arm := &fake{plats: []string{"linux/arm64", "linux/amd64"}}
	p := newPool(t, nil, []*fake{x86, arm})
	caps, err := p.Capabilities(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"linux/386", "linux/amd64", "linux/arm64"}, caps.Platforms)
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, caps.Native)

	x86.down.Store(true)
	_, err = p.Build(context.Background(), req("gone", "", "linux/386"), nil)
	require.Error(t, err)
	caps, err = p.Capabilities(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"linux/arm64"}, caps.Native, "a daemon down runs nothing")
}

func TestJobsBoundEachDaemon(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b}, WithJobs(2))
	assert.Equal(t, 4, p.Slots())
	hold := make(chan struct{})
	a.hold, b.hold = hold, hold
	a.started, b.started = make(chan string, 20), make(chan string, 20)
	var wg sync.WaitGroup
	var done atomic.Int32
	for i := range 10 {
		wg.Go(func() {
			_, err := p.Build(context.Background(), req(fmt.Sprint("img", i), ""), nil)
			assert.NoError(t, err)
			done.Add(1)
		})
	}
	// Four start, the others wait for a slot.
	for range 2 {
		<-a.started
		<-b.started
	}
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, a.started, 0)
	assert.Len(t, b.started, 0)
	close(hold)
	wg.Wait()
	assert.Equal(t, int32(10), done.Load())
	assert.Equal(t, 2, a.maxRunning)
	assert.Equal(t, 2, b.maxRunning)
	assert.Equal(t, 10, len(a.built())+len(b.built()))
}

func TestWaitingForASlotStopsWithTheContext(t *testing.T) {
	a := &fake{plats: amd64, hold: make(chan struct{}), started: make(chan string, 1)}
	p := newPool(t, nil, []*fake{a}, WithJobs(1))
	go func() { _, _ = p.Build(context.Background(), req("first", ""), nil) }()
	<-a.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Build(ctx, req("second", ""), nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualError(t, err, "building second: waiting for a BuildKit daemon: context deadline exceeded")
	close(a.hold)
}

func TestFailoverWhenADaemonDies(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	var log bytes.Buffer
	p := newPool(t, &log, []*fake{a, b})
	ctx := context.Background()
	_, err := p.Build(ctx, req("base", ""), nil)
	require.NoError(t, err)
	// a dies during mid's build (mid prefers a: it built base).
	a.fail = func(string) error {
		a.down.Store(true)
		return errors.New("building mid: error reading from server: EOF")
	}
	res, err := p.Build(ctx, req("mid", "base"), nil)
	require.NoError(t, err)
	assert.Equal(t, b.addr, res.Daemon)
	assert.Equal(t, digest("mid"), res.Digest)
	assert.Equal(t, []string{"base", "mid"}, a.built())
	assert.Contains(t, log.String(), `level=WARN msg="BuildKit daemon down: out of the pool for the rest of the run" daemon=unix:///run/bk0.sock cause="listing the workers`)
	assert.Contains(t, log.String(), `level=WARN msg="BuildKit daemon lost during a build: building it again on another daemon" image=mid daemon=unix:///run/bk0.sock cause="building mid: error reading from server: EOF"`)
	// a is not used again, even for base's children.
	res, err = p.Build(ctx, req("leaf", "base"), nil)
	require.NoError(t, err)
	assert.Equal(t, b.addr, res.Daemon)
	assert.Equal(t, 8, p.Slots())
	plats, err := p.Platforms(ctx)
	require.NoError(t, err)
	assert.Equal(t, amd64, plats)
}

func TestFailoverOnlyToASuitableDaemon(t *testing.T) {
	arm, x86 := &fake{plats: both}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{arm, x86})
	arm.fail = func(string) error {
		arm.down.Store(true)
		return errors.New("rpc error: code = Unavailable desc = error reading from server: EOF")
	}
	_, err := p.Build(context.Background(), req("multi", "", both...), nil)
	require.Error(t, err)
	var nd *NoDaemonError
	require.ErrorAs(t, err, &nd)
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, nd.Platforms)
	assert.Contains(t, err.Error(), "building multi: no suitable BuildKit daemon (it needs linux/amd64, linux/arm64): unix:///run/bk0.sock is down: lost during a build (rpc error: code = Unavailable desc = error reading from server: EOF); not answering (listing the workers of BuildKit at unix:///run/bk0.sock: connection error: dial unix: connect: connection refused); unix:///run/bk1.sock builds only linux/amd64")
	assert.Equal(t, []string(nil), x86.built(), "the amd64-only daemon never got it")
	// retrying cannot help: buildretry sees a permanent error, although
	// its text says "connection refused".
	assert.Empty(t, buildretry.Transient(context.Background(), err))
}

func TestAFailingStepIsNotRetriedElsewhere(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	step := &build.StepError{Image: "bad", Step: 2, Steps: 2, Field: "run[0]", Command: "RUN false", Err: errors.New("exit code: 1")}
	a.fail = func(string) error { return step }
	_, err := p.Build(context.Background(), req("bad", ""), nil)
	assert.Same(t, step, err)
	assert.Equal(t, []string{"bad"}, a.built())
	assert.Empty(t, b.built())
	assert.Equal(t, 1, a.probes, "only Dial asked it: a failing step is not a lost daemon")
}

func TestAnErrorFromADaemonStillUpIsReturned(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	push := errors.New("building py: failed to push: 503 Service Unavailable")
	a.fail = func(string) error { return push }
	_, err := p.Build(context.Background(), req("py", ""), nil)
	assert.Same(t, push, err, "buildretry's to retry, not the pool's")
	assert.Empty(t, b.built())
	assert.Equal(t, 2, a.probes, "asked once after the failure")
	assert.Equal(t, 16, p.Slots(), "still up")
}

func TestAllDaemonsLost(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b, nil})
	for _, f := range []*fake{a, b} {
		f.down.Store(true)
	}
	_, err := p.Build(context.Background(), req("py", ""), nil)
	require.ErrorIs(t, err, ErrNoDaemon)
	assert.Regexp(t, `^building py: no suitable BuildKit daemon \(it needs linux/amd64\): unix:///run/bk0.sock is down: lost during a build \(building py: error reading from server: EOF\); not answering \(.*\); unix:///run/bk1.sock is down: .*; unix:///run/bk2.sock was unreachable at start \(connecting to BuildKit at unix:///run/bk2.sock: connection refused\)$`, err.Error())
	assert.Equal(t, []string{"py"}, a.built())
	assert.Equal(t, []string{"py"}, b.built())
	_, err = p.Platforms(context.Background())
	assert.ErrorIs(t, err, ErrNoDaemon)
	assert.Equal(t, 1, p.Slots())
}

func TestBuildBinaryRunsAnywhereAndFailsOver(t *testing.T) {
	a, b := &fake{plats: []string{"linux/arm64"}}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	a.fail = func(string) error { a.down.Store(true); return errors.New("EOF") }
	res, err := p.BuildBinary(context.Background(), build.BinaryImage{Repository: "127.0.0.1:5000/imgctl-cache"}, nil)
	require.NoError(t, err)
	assert.Equal(t, b.addr, res.Daemon)
}

func TestCancelledBuildIsNotFailedOver(t *testing.T) {
	a, b := &fake{plats: amd64, hold: make(chan struct{}), started: make(chan string, 1)}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-a.started; cancel() }()
	_, err := p.Build(ctx, req("py", ""), nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, b.built())
}

func TestClose(t *testing.T) {
	a, b := &fake{plats: amd64}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	require.NoError(t, p.Close())
	assert.True(t, a.closed)
	assert.True(t, b.closed)
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		name     string
		cands    []Candidate
		affinity int
		want     int
	}{
		{"one", []Candidate{{}}, 1, 0},
		{"least busy", []Candidate{{Busy: 2}, {Busy: 1}, {Busy: 3}}, 1, 1},
		{"ties: built least", []Candidate{{Busy: 1, Built: 4}, {Busy: 1, Built: 2}, {Busy: 1, Built: 2}}, 1, 1},
		{"warm within affinity", []Candidate{{Busy: 0}, {Busy: 1, Warm: true}}, 1, 1},
		{"warm too busy", []Candidate{{Busy: 0}, {Busy: 2, Warm: true}}, 1, 0},
		{"affinity 0: warm on a tie only", []Candidate{{Busy: 0, Built: 0}, {Busy: 0, Built: 9, Warm: true}}, 0, 1},
		{"affinity 0: warm busier", []Candidate{{Busy: 0}, {Busy: 1, Warm: true}}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, Choose(c.cands, c.affinity)) })
	}
}

func TestDaemonForTests(t *testing.T) {
	a, b := &fake{plats: both}, &fake{plats: amd64}
	p := newPool(t, nil, []*fake{a, b})
	ctx := context.Background()
	res, err := p.Build(ctx, req("py", "", "linux/amd64"), nil)
	require.NoError(t, err)
	require.Equal(t, a.addr, res.Daemon)
	ref := "127.0.0.1:5000/lib/py@" + res.Digest
	d, err := p.Daemon(ref, []string{"linux/amd64"})
	require.NoError(t, err)
	assert.Same(t, a, d, "the daemon that built it")
	// Not built here: the least busy that builds the platforms, which
	// the registry may name with a variant.
	d, err = p.Daemon("127.0.0.1:5000/lib/other@"+digest("other"), []string{"linux/arm64/v8", "linux/amd64"})
	require.NoError(t, err)
	assert.Same(t, a, d)
	a.down.Store(true)
	a.fail = func(string) error { return errors.New("EOF") }
	res, err = p.Build(ctx, req("child", "py"), nil) // goes to py's daemon, finds it down
	require.NoError(t, err)
	require.Equal(t, b.addr, res.Daemon)
	d, err = p.Daemon(ref, []string{"linux/amd64"})
	require.NoError(t, err)
	assert.Same(t, b, d, "its daemon is down: another")
	_, err = p.Daemon(ref, []string{"linux/arm64"})
	assert.ErrorIs(t, err, ErrNoDaemon)
	_, err = p.Daemon(ref, []string{"linux/"})
	assert.Error(t, err)
}

func TestOneAddressNamesNoDaemon(t *testing.T) {
	p := newPool(t, nil, []*fake{{plats: amd64}})
	res, err := p.Build(context.Background(), req("py", ""), nil)
	require.NoError(t, err)
	assert.Empty(t, res.Daemon, "one daemon: the summary needs no DAEMON column")
}
