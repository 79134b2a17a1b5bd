package buildpool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"

	"github.com/imgctl/imgctl/pkg/build"
)

// NoDaemonError is ErrNoDaemon for one image, with what each daemon
// lacked. It is permanent (see buildretry).
type NoDaemonError struct {
	Image     string
	Platforms []string
	// Why says, per daemon, why it cannot take the image.
	Why []string
}

func (e *NoDaemonError) Error() string {
	return fmt.Sprintf("building %s: %v (it needs %s): %s", e.Image, ErrNoDaemon, strings.Join(e.Platforms, ", "), strings.Join(e.Why, "; "))
}

// Is makes errors.Is(err, ErrNoDaemon) true.
func (e *NoDaemonError) Is(target error) bool { return target == ErrNoDaemon }

// Permanent says retrying the build cannot help.
func (e *NoDaemonError) Permanent() bool { return true }

// Build builds req on a daemon of the pool chosen for it (see the package
// doc), and again on another when that daemon is lost during the build.
// The result's Daemon names the daemon that built it when the pool was
// given more than one address.
func (p *Pool) Build(ctx context.Context, req build.Request, status chan *client.SolveStatus) (build.Result, error) {
	if req.Image == nil {
		return build.Result{}, errors.New("request has no image")
	}
	plats, err := imagePlatforms(req)
	if err != nil {
		return build.Result{}, err
	}
	parent := digestOf(req.Base)
	return p.run(ctx, req.Image.Name, plats, parent, func(ctx context.Context, b Builder) (build.Result, error) {
		return b.Build(ctx, req, status)
	})
}

// BuildBinary builds bi on the least busy daemon: it runs nothing, so any
// daemon can make it for every platform. It fails over like Build.
func (p *Pool) BuildBinary(ctx context.Context, bi build.BinaryImage, status chan *client.SolveStatus) (build.Result, error) {
	return p.run(ctx, bi.Repository, nil, "", func(ctx context.Context, b Builder) (build.Result, error) {
		return b.BuildBinary(ctx, bi, status)
	})
}

// run runs do on a daemon chosen for an image needing plats whose parent
// has digest parent, failing over while daemons are lost.
func (p *Pool) run(ctx context.Context, image string, plats []string, parent string, do func(context.Context, Builder) (build.Result, error)) (build.Result, error) {
	for {
		m, err := p.acquire(ctx, image, plats, parent)
		if err != nil {
			return build.Result{}, err
		}
		res, err := do(ctx, m.b)
		p.release(m, err == nil, res.Digest)
		if err == nil {
			if p.named {
				res.Daemon = m.addr
			}
			return res, nil
		}
		var se *build.StepError
		if ctx.Err() != nil || errors.As(err, &se) || !p.lost(ctx, m, err) {
			return res, err
		}
		p.o.log.Warn("BuildKit daemon lost during a build: building it again on another daemon", "image", image, "daemon", m.addr, "cause", oneLine(err.Error()))
	}
}

// Daemon is the daemon to run something on in the image ref
// ("repo@sha256:…") for the platforms want, such as its tests: the daemon that
// built it in this run when it is up (its cache holds the image), else the
// least busy daemon up that builds every platform. It takes no slot.
func (p *Pool) Daemon(ref string, want []string) (Builder, error) {
	var plats []string
	for _, s := range want {
		pf, err := platforms.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("platform %q of %s: %w", s, ref, err)
		}
		plats = append(plats, platforms.Format(platforms.Normalize(pf)))
	}
	sort.Strings(plats)
	plats = slices.Compact(plats)
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.builtOn[digestOf(ref)]; m != nil && m.down == nil && m.supports(plats) {
		return m.b, nil
	}
	var best *member
	for _, m := range p.members {
		if m.down == nil && m.supports(plats) && (best == nil || m.busy < best.busy) {
			best = m
		}
	}
	if best == nil {
		return nil, p.noDaemon(ref, plats)
	}
	return best.b, nil
}

// imagePlatforms are the platforms req builds, normalised, sorted.
func imagePlatforms(req build.Request) ([]string, error) {
	ps, err := build.Platforms(req.Image)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ps))
	for i, pf := range ps {
		out[i] = platforms.Format(pf)
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// digestOf is the digest of a "repo@sha256:…" reference, or "".
func digestOf(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	return ""
}

// acquire waits for a slot on the best daemon for an image needing plats
// whose parent has digest parent, and takes it.
func (p *Pool) acquire(ctx context.Context, image string, plats []string, parent string) (*member, error) {
	for {
		p.mu.Lock()
		m, suitable := p.pick(plats, parent)
		if m != nil {
			m.busy++
			p.mu.Unlock()
			return m, nil
		}
		if !suitable {
			err := p.noDaemon(image, plats)
			p.mu.Unlock()
			return nil, err
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, fmt.Errorf("building %s: waiting for a BuildKit daemon: %w", image, ctx.Err())
		}
	}
}

// pick chooses a daemon with a free slot (see Choose); suitable says
// whether any daemon up could take the image at all. p.mu is held.
func (p *Pool) pick(plats []string, parent string) (m *member, suitable bool) {
	var (
		free  []*member
		cands []Candidate
	)
	warm := p.builtOn[parent]
	for _, c := range p.members {
		if c.down != nil || !c.supports(plats) {
			continue
		}
		suitable = true
		if c.busy < p.o.jobs {
			free = append(free, c)
			cands = append(cands, Candidate{Busy: c.busy, Built: c.built, Warm: parent != "" && c == warm})
		}
	}
	if len(free) == 0 {
		return nil, suitable
	}
	return free[Choose(cands, p.o.affinity)], true
}

// Candidate is a daemon that can take an image now: up, builds all its
// platforms, has a free slot.
type Candidate struct {
	// Busy is how many builds it runs, Built how many it finished.
	Busy, Built int
	// Warm says it built the image's parent in this run.
	Warm bool
}

// Choose is the pool's choice among candidates (at least one), in the
// order the daemons were given: the warm one, unless another runs more
// than affinity fewer builds; otherwise the least busy, then the one that
// built least, then the first. It is exported for simulations of the
// policy (bench/cmd/poolsim).
func Choose(cands []Candidate, affinity int) int {
	least := 0
	for i, c := range cands[1:] {
		l := cands[least]
		if c.Busy < l.Busy || c.Busy == l.Busy && c.Built < l.Built {
			least = i + 1
		}
	}
	for i, c := range cands {
		if c.Warm && c.Busy <= cands[least].Busy+affinity {
			return i
		}
	}
	return least
}

// release gives m's slot back and, after a success, records that m built
// digest.
func (p *Pool) release(m *member, ok bool, digest string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m.busy--
	if ok {
		m.built++
		if digest != "" {
			p.builtOn[digest] = m
		}
	}
	p.signal()
}

// signal wakes every waiting acquire. p.mu is held.
func (p *Pool) signal() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// lost reports whether m is gone after a build on it failed with err:
// it is when it does not answer a request for its workers within the
// probe timeout; it is then marked down.
func (p *Pool) lost(ctx context.Context, m *member, err error) bool {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.o.probe)
	defer cancel()
	_, perr := m.b.Capabilities(pctx)
	if perr == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m.down == nil {
		m.down = fmt.Errorf("lost during a build (%s); not answering (%s)", oneLine(err.Error()), oneLine(perr.Error()))
		p.o.log.Warn("BuildKit daemon down: out of the pool for the rest of the run", "daemon", m.addr, "cause", oneLine(perr.Error()))
		p.signal()
	}
	return true
}

// noDaemon is the error for an image no daemon up can take. p.mu is held.
func (p *Pool) noDaemon(image string, plats []string) error {
	e := &NoDaemonError{Image: image, Platforms: plats}
	if plats == nil {
		e.Platforms = []string{"any platform"}
	}
	for _, m := range p.members {
		switch {
		case m.down != nil:
			e.Why = append(e.Why, fmt.Sprintf("%s is down: %v", m.addr, m.down))
		default:
			e.Why = append(e.Why, fmt.Sprintf("%s builds only %s", m.addr, strings.Join(m.plats, ", ")))
		}
	}
	for _, d := range p.dropped {
		e.Why = append(e.Why, fmt.Sprintf("%s was unreachable at start (%s)", d.Addr, oneLine(d.Err.Error())))
	}
	return e
}
