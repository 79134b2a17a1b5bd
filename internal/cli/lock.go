package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/mirror"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/resolve"
	"github.com/imgctl/imgctl/pkg/spec"
)

type lockFlags struct {
	registryFlags
	bk      buildkitFlags
	upgrade bool
	check   bool
}

func newLockCmd(s streams) *cobra.Command {
	f := &lockFlags{}
	cmd := &cobra.Command{
		Use:   "lock [DIR] [NAME...]",
		Short: "Resolve every package version of the images into DIR/locks/NAME.lock.json",
		Long: `lock resolves, in BuildKit on each image's parent as built from its lock, the exact
version of every apt package, pip distribution and R package the image adds, per
platform, and writes them to DIR/locks/NAME.lock.json (default DIR: images). Parents
are locked before children; a child never moves a version its parent locked.

With NAMEs, the images named are locked, with the ancestors they need and the
descendants resolved within their locks. Existing pins are kept: only what the spec
added or removed is resolved, unless --upgrade asks for the newest the sources serve
(for the images named, or all; descendants keep their pins).
Publishing a locked image installs exactly its lock.

--check changes nothing and exits 1 when a lock is missing or stale, naming each
image and why (for CI on pull requests).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.registryFlags.validate(); err != nil {
				return err
			}
			dir, names := "images", args
			if len(args) > 0 {
				if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
					dir, names = args[0], args[1:]
				}
			}
			return runLock(cmd.Context(), s, dir, names, f)
		},
	}
	f.registryFlags.add(cmd)
	f.bk.add(cmd)
	cmd.Flags().BoolVar(&f.upgrade, "upgrade", false, "resolve the images named (every image when none is) to the newest versions their sources serve, instead of keeping their pins")
	cmd.Flags().BoolVar(&f.check, "check", false, "change nothing; exit 1 when a lock is missing or stale")
	return cmd
}

func runLock(ctx context.Context, s streams, dir string, names []string, f *lockFlags) error {
	lib, err := loadLibrary(s, dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if lib.Image(n) == nil {
			return usageErr("no image %q in %s", n, displayDir(dir))
		}
	}
	named := map[string]bool{}
	for _, n := range names {
		named[n] = true
	}
	order := lib.Graph().Order()
	if len(names) > 0 {
		// The images named, the ancestors whose locks they need, and
		// the descendants resolved within their locks (which a new lock
		// of theirs makes stale; they keep their pins).
		want := map[string]bool{}
		g := lib.Graph()
		var down func(string)
		down = func(n string) {
			for _, c := range g.Children(n) {
				if im := lib.Image(c); im != nil && im.ParentVersion == "" && !want[c] {
					want[c] = true
					down(c)
				}
			}
		}
		for _, n := range names {
			for im := lib.Image(n); im != nil; im = lib.Image(im.Parent) {
				want[im.Name] = true
				if im.ParentVersion != "" {
					break
				}
			}
			down(n)
		}
		var o []string
		for _, n := range order {
			if want[n] {
				o = append(o, n)
			}
		}
		order = o
	}
	if f.check {
		return checkLocks(s, lib, order)
	}

	// BuildKit is dialled when an image needs resolving: relocking a
	// library whose locks are current reads the lock files only.
	var (
		bc     *build.Client
		bcErr  error
		bcOnce sync.Once
	)
	daemon := func(ctx context.Context) (*build.Client, error) {
		bcOnce.Do(func() {
			addr, tls, err := f.bk.daemonTLS(f.bk.addresses()[0])
			if err != nil {
				bcErr = err
				return
			}
			var bopts []build.Option
			if tls != nil {
				bopts = append(bopts, build.WithTLS(*tls))
			}
			bc, bcErr = build.New(ctx, addr, bopts...)
		})
		return bc, bcErr
	}
	defer func() {
		if bc != nil {
			bc.Close()
		}
	}()
	reg := f.client(s)
	secrets, err := lockSecrets(lib, order)
	if err != nil {
		return err
	}

	var mu sync.Mutex // lib's locks
	depth := map[string]int{}
	for _, n := range order {
		im := lib.Image(n)
		if p := lib.Image(im.Parent); p != nil && im.ParentVersion == "" {
			depth[n] = depth[p.Name] + 1
		}
	}
	levels := map[int][]string{}
	maxDepth := 0
	for _, n := range order {
		levels[depth[n]] = append(levels[depth[n]], n)
		maxDepth = max(maxDepth, depth[n])
	}
	start := time.Now()
	var locked, current int
	for d := 0; d <= maxDepth; d++ {
		eg, ctx := errgroup.WithContext(ctx)
		eg.SetLimit(max(f.jobs, 1))
		for _, n := range levels[d] {
			eg.Go(func() error {
				mu.Lock()
				im := lib.Image(n)
				upgrade := f.upgrade && (len(names) == 0 || named[n])
				if im.Locked() && !upgrade {
					current++
					mu.Unlock()
					return nil
				}
				req := resolve.Request{Image: im, SpecDir: lib.Dir, Secrets: secrets, BaseRead: reg.ReadOptions}
				if !upgrade {
					req.Keep = im.Lock
				}
				var err error
				req.Chain, req.Base, req.Pinned, err = lockChain(ctx, lib, reg, im, func(w string) {
					fmt.Fprintf(s.errOut, "imgctl: warning: locking %s: %s\n", im.Name, w)
				})
				old := im.Lock
				mu.Unlock()
				if err != nil {
					return err
				}
				req.Insecure = req.Base != "" && reg.PlainHTTP(req.Base)
				t := time.Now()
				bc, err := daemon(ctx)
				if err != nil {
					return err
				}
				l, err := resolve.Resolve(ctx, bc, req, nil)
				if err != nil {
					return err
				}
				if err := lock.Write(im.LockFile, l); err != nil {
					return fmt.Errorf("writing the lock of %s: %w", n, err)
				}
				mu.Lock()
				defer mu.Unlock()
				lib.SetLock(n, l)
				locked++
				fmt.Fprintf(s.out, "locked %s (%s, %.1fs): %s\n", n, relPath(im.LockFile), time.Since(t).Seconds(), lockSummary(old, l))
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.out, "%d locked, %d already current (%.1fs)\n", locked, current, time.Since(start).Seconds())
	return nil
}

// lockSummary says what changed between old and new, per platform count.
func lockSummary(old, new *lock.Lock) string {
	var counts []string
	for _, pf := range sortedKeys(new.Platforms) {
		p := new.Platforms[pf]
		counts = append(counts, fmt.Sprintf("%s %d apt, %d pip, %d r", pf, len(p.Apt), len(p.Pip), len(p.R)))
	}
	changes := lock.Summary(lock.Changes(old, new), 5)
	if old == nil {
		changes = "new lock"
	}
	return strings.Join(counts, "; ") + "; " + changes
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func relPath(p string) string {
	wd, _ := os.Getwd()
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// lockChain is what im is resolved on: its in-library ancestors (root
// first, each locked), the digest reference of what the first of them is
// built from (the root's external base, or a pinned parent's version) and,
// for a pinned parent, the lock that version was published from (nil when
// it was published without one): its versions are constraints too. An
// external base gone upstream is resolved on policy.mirror's copy, as plan
// and publish build on it, and warn says so.
func lockChain(ctx context.Context, lib *spec.Library, reg *regclient.Client, im *spec.Image, warn func(string)) ([]*spec.Image, string, *lock.Lock, error) {
	var chain []*spec.Image
	cur := im
	for !cur.IsExternal() && cur.ParentVersion == "" {
		p := lib.Image(cur.Parent)
		if !p.Locked() {
			return nil, "", nil, fmt.Errorf("locking %s: its parent %s has no current lock", im.Name, p.Name)
		}
		chain = append([]*spec.Image{p}, chain...)
		cur = p
	}
	var ref string
	switch {
	case cur.ParentVersion != "":
		ref = lib.Registry + "/" + cur.Parent + ":" + cur.ParentVersion
	case cur.From == "scratch":
		return chain, "", nil, nil
	default:
		ref = cur.From
	}
	dgst, _, err := reg.Platforms(ctx, ref)
	if err != nil && cur.ParentVersion == "" && lib.Policy.Mirror != "" {
		// Gone upstream: resolved on the mirror's copy, as plan and
		// publish build on it.
		if m, merr := mirror.Ref(lib.Policy.Mirror, ref); merr == nil {
			if d, _, merr := reg.Platforms(ctx, m); merr == nil {
				if r, rerr := reg.Reference(m); rerr == nil {
					warn(published.MirrorGoneWarning(ref, r.Context().Name()+"@"+d))
				}
				dgst, ref, err = d, m, nil
			}
		}
	}
	if err != nil {
		return nil, "", nil, fmt.Errorf("locking %s: resolving %s: %w", im.Name, ref, err)
	}
	r, err := reg.Reference(ref)
	if err != nil {
		return nil, "", nil, err
	}
	base := r.Context().Name() + "@" + dgst
	var pinned *lock.Lock
	if cur.ParentVersion != "" {
		m, err := reg.Get(ctx, base)
		if err != nil {
			return nil, "", nil, fmt.Errorf("locking %s: reading %s: %w", im.Name, ref, err)
		}
		if raw := m.Annotations[published.AnnotationLock]; raw != "" {
			if pinned, err = lock.Parse(ref, []byte(raw)); err != nil {
				return nil, "", nil, fmt.Errorf("locking %s: the lock %s was published from: %w", im.Name, ref, err)
			}
		}
	}
	return chain, base, pinned, nil
}

// lockSecrets are the secrets the images' pip steps name, from the
// environment (checked before any resolution starts).
func lockSecrets(lib *spec.Library, names []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, n := range names {
		im := lib.Image(n)
		if im.Pip == nil || im.Pip.CredentialsEnv == "" {
			continue
		}
		v := os.Getenv(im.Pip.CredentialsEnv)
		if v == "" {
			return nil, fmt.Errorf("%s: images.%s.pip.credentialsEnv: $%s is not set", relPath(im.PosOf("pip").String()), n, im.Pip.CredentialsEnv)
		}
		out[build.PipCredentialsSecret] = []byte(v)
	}
	return out, nil
}

// checkLocks reports each image of order whose lock is missing or stale.
func checkLocks(s streams, lib *spec.Library, order []string) error {
	bad := 0
	for _, n := range order {
		im := lib.Image(n)
		switch {
		case im.Lock == nil:
			fmt.Fprintf(s.out, "%s: no lock (%s)\n", n, relPath(im.LockFile))
			bad++
		case im.LockStale != "":
			fmt.Fprintf(s.out, "%s: stale: %s\n", n, im.LockStale)
			bad++
		}
	}
	if bad > 0 {
		return &exitError{code: ExitError, err: fmt.Errorf("%d of %d locks are missing or stale; run imgctl lock", bad, len(order))}
	}
	fmt.Fprintf(s.out, "%d locks are current\n", len(order))
	return nil
}
