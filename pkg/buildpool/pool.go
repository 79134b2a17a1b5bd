package buildpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/imgctl/imgctl/pkg/build"
)

// Builder is one daemon's builder; *build.Client is one.
type Builder interface {
	Build(ctx context.Context, req build.Request, status chan *client.SolveStatus) (build.Result, error)
	BuildBinary(ctx context.Context, bi build.BinaryImage, status chan *client.SolveStatus) (build.Result, error)
	// Capabilities says what the daemon's workers build and run on; the
	// pool also asks it to tell whether a daemon is still up.
	Capabilities(ctx context.Context) (build.Capabilities, error)
	Close() error
}

var _ Builder = (*build.Client)(nil)

// ErrNoDaemon is returned when no daemon of the pool that is up can build
// an image (every suitable one was lost, or none builds all its
// platforms). It is permanent: retrying cannot help.
var ErrNoDaemon = errors.New("no suitable BuildKit daemon")

// Target is a daemon to connect to: its address and its own options (TLS
// certificates of a tcp:// daemon).
type Target struct {
	Addr    string
	Options []build.Option
}

// Dialer connects to one daemon.
type Dialer func(ctx context.Context, t Target) (Builder, error)

// DialBuildKit is the default Dialer: build.New.
func DialBuildKit(ctx context.Context, t Target) (Builder, error) {
	return build.New(ctx, t.Addr, t.Options...)
}

type options struct {
	jobs     int
	affinity int
	probe    time.Duration
	log      *slog.Logger
	dial     Dialer
}

// Option configures Dial.
type Option func(*options) error

// WithJobs bounds the builds each daemon runs at a time. The default is 8.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs per daemon %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithAffinity is how many more running builds the daemon that built an
// image's parent may have than the least busy suitable daemon and still
// get the image (its cache is warm). 0 means only on a tie. The default
// is 1.
func WithAffinity(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("affinity %d: want 0 or more", n)
		}
		o.affinity = n
		return nil
	}
}

// WithProbeTimeout bounds how long a daemon has to answer, after a build
// on it failed, before it is marked down. The default is 5 seconds.
func WithProbeTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("probe timeout %v is not positive", d)
		}
		o.probe = d
		return nil
	}
}

// WithLogger sets where the pool warns about dropped and lost daemons.
// The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		return nil
	}
}

// WithDialer sets how daemons are connected to. The default is
// DialBuildKit.
func WithDialer(d Dialer) Option {
	return func(o *options) error {
		if d == nil {
			return errors.New("nil dialer")
		}
		o.dial = d
		return nil
	}
}

// Dropped is a daemon that could not be reached when the pool was made.
type Dropped struct {
	Addr string
	Err  error
}

// member is one daemon of the pool.
type member struct {
	addr   string
	b      Builder
	plats  []string // sorted
	native []string // the platforms it runs on itself
	busy   int      // builds running
	built  int      // builds finished on it in this run
	down   error    // why it is out of the pool, once lost
}

func platsOf(m *member) []string  { return m.plats }
func nativeOf(m *member) []string { return m.native }

func (m *member) supports(plats []string) bool {
	for _, p := range plats {
		if _, ok := slices.BinarySearch(m.plats, p); !ok {
			return false
		}
	}
	return true
}

// Pool builds on a pool of daemons. It is safe for concurrent use.
type Pool struct {
	o       options
	members []*member
	dropped []Dropped
	// named says results name their daemon: the pool was given more
	// than one address.
	named bool

	mu   sync.Mutex
	wake chan struct{} // closed when a slot frees or a daemon goes down
	// builtOn maps the digest of an image built in this run to the daemon
	// that built it: its children prefer that daemon.
	builtOn map[string]*member
}

// Dial connects to every target at once and asks each for its platforms.
// A daemon that cannot be reached is dropped (see Dropped and Require);
// Dial fails only when none can be, naming each address and its cause.
func Dial(ctx context.Context, targets []Target, opts ...Option) (*Pool, error) {
	o := options{jobs: 8, affinity: 1, probe: 5 * time.Second, log: slog.New(slog.DiscardHandler), dial: DialBuildKit}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("making the BuildKit pool: %w", err)
		}
	}
	if len(targets) == 0 {
		return nil, errors.New("making the BuildKit pool: no daemon address")
	}
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t.Addr] {
			return nil, fmt.Errorf("making the BuildKit pool: daemon %s is given twice", t.Addr)
		}
		seen[t.Addr] = true
	}
	type dialed struct {
		m   *member
		err error
	}
	out := make([]dialed, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			b, err := o.dial(ctx, t)
			if err != nil {
				out[i].err = err
				return
			}
			caps, err := b.Capabilities(ctx)
			plats := caps.Platforms
			if err == nil && len(plats) == 0 {
				err = fmt.Errorf("BuildKit at %s has no worker", t.Addr)
			}
			if err != nil {
				_ = b.Close()
				out[i].err = err
				return
			}
			plats = slices.Clone(plats)
			sort.Strings(plats)
			out[i].m = &member{addr: t.Addr, b: b, plats: plats, native: caps.Native}
		})
	}
	wg.Wait()
	p := &Pool{o: o, wake: make(chan struct{}), builtOn: map[string]*member{}, named: len(targets) > 1}
	var errs []error
	for i, d := range out {
		if d.err != nil {
			p.dropped = append(p.dropped, Dropped{Addr: targets[i].Addr, Err: d.err})
			errs = append(errs, d.err)
			continue
		}
		p.members = append(p.members, d.m)
	}
	if len(p.members) == 0 {
		if len(errs) == 1 {
			return nil, errs[0] // "connecting to BuildKit at ADDR: cause"
		}
		return nil, fmt.Errorf("no BuildKit daemon of the pool can be reached: %w", errors.Join(errs...))
	}
	return p, nil
}

// Close closes the connection to every daemon.
func (p *Pool) Close() error {
	var errs []error
	for _, m := range p.members {
		errs = append(errs, m.b.Close())
	}
	return errors.Join(errs...)
}

// Dropped lists the daemons that could not be reached when the pool was
// made.
func (p *Pool) Dropped() []Dropped { return slices.Clone(p.dropped) }

// Need is what one image needs of the pool: a daemon that builds all its
// platforms.
type Need struct {
	Image     string
	Platforms []string
}

// Require checks, before any build, that the daemons reached can build
// what needs lists, and warns about each dropped daemon when they can.
// When an image is left without a suitable daemon because daemons were
// dropped, or because its platforms are split across daemons, it fails
// naming the images, platforms and unreachable addresses with their
// causes. A platform no daemon was ever going to build is left to the
// caller's own check (publish's ErrPlatformUnsupported).
func (p *Pool) Require(needs []Need) error {
	union := p.union(platsOf, false)
	var problems []string
	for _, n := range needs {
		if p.canBuild(n.Platforms) {
			continue
		}
		switch {
		case len(p.dropped) > 0:
			problems = append(problems, fmt.Sprintf("%s (%s): no daemon reached builds it", n.Image, strings.Join(n.Platforms, ", ")))
		case covers(union, n.Platforms):
			problems = append(problems, fmt.Sprintf("%s (%s): no single daemon builds all its platforms", n.Image, strings.Join(n.Platforms, ", ")))
		}
	}
	if len(problems) == 0 {
		for _, d := range p.dropped {
			p.o.log.Warn("BuildKit daemon unreachable: dropped from the pool; the others build every platform needed", "daemon", d.Addr, "cause", d.Err.Error())
		}
		return nil
	}
	var why []string
	for _, d := range p.dropped {
		why = append(why, fmt.Sprintf("%s is unreachable (%v)", d.Addr, d.Err))
	}
	for _, m := range p.members {
		why = append(why, fmt.Sprintf("%s builds %s", m.addr, strings.Join(m.plats, ", ")))
	}
	return fmt.Errorf("%w: %s; %s", ErrNoDaemon, strings.Join(problems, "; "), strings.Join(why, "; "))
}

func covers(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func (p *Pool) canBuild(plats []string) bool {
	for _, m := range p.members {
		if m.supports(plats) {
			return true
		}
	}
	return false
}

// String describes the pool in one line: every daemon with its platforms,
// the per-daemon bound and the daemons dropped.
func (p *Pool) String() string {
	var b strings.Builder
	n := "daemons"
	if len(p.members) == 1 {
		n = "daemon"
	}
	fmt.Fprintf(&b, "BuildKit pool: %d %s, %d builds at a time each: ", len(p.members), n, p.o.jobs)
	for i, m := range p.members {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s [%s]", m.addr, strings.Join(m.plats, " "))
	}
	if len(p.dropped) > 0 {
		b.WriteString("; dropped: ")
		for i, d := range p.dropped {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%s)", d.Addr, oneLine(d.Err.Error()))
		}
	}
	return b.String()
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Capabilities are the union of the platforms of the daemons up (those
// they build and those they run on), their addresses and Slots.
func (p *Pool) Capabilities(ctx context.Context) (build.Capabilities, error) {
	plats, err := p.Platforms(ctx)
	if err != nil {
		return build.Capabilities{Addr: p.Addr()}, err
	}
	return build.Capabilities{Platforms: plats, Native: p.native(), Slots: p.Slots(), Addr: p.Addr()}, nil
}

// native is the union of the platforms the daemons up run on, sorted.
func (p *Pool) native() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.union(nativeOf, true)
}

// union is the sorted union of of(m) over the daemons (only those up
// when upOnly). The caller holds p.mu once builds run (daemons go down);
// Require, before any, reads plats only, which never change.
func (p *Pool) union(of func(*member) []string, upOnly bool) []string {
	var out []string
	for _, m := range p.members {
		if upOnly && m.down != nil {
			continue
		}
		for _, pf := range of(m) {
			if !slices.Contains(out, pf) {
				out = append(out, pf)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Platforms is the union of the platforms of the daemons up, sorted. Whether one daemon builds all of an image's
// platforms is Require's and Build's check.
func (p *Pool) Platforms(ctx context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.union(platsOf, true)
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: every daemon of the pool is down", ErrNoDaemon)
	}
	return out, nil
}

// Addr names the pool's daemons in errors: their addresses, comma
// separated.
func (p *Pool) Addr() string {
	addrs := make([]string, len(p.members))
	for i, m := range p.members {
		addrs[i] = m.addr
	}
	return strings.Join(addrs, ", ")
}

// Slots is how many builds the pool runs at a time: Jobs per daemon up.
func (p *Pool) Slots() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.members {
		if m.down == nil {
			n += p.o.jobs
		}
	}
	return max(n, 1)
}
