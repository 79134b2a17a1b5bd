package regclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/imgctl/imgctl/pkg/published"
)

// ErrNotFound is returned when a repository, tag or manifest does not
// exist. It is the vocabulary's published.ErrNotFound, so that readers that
// do not import this client (plan, status) recognise it.
var ErrNotFound = published.ErrNotFound

// Error is a failed registry operation, naming the registry and repository.
type Error struct {
	Op         string // "listing tags", "reading manifest", …
	Registry   string
	Repository string
	Err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s of %s on registry %s: %s", e.Op, e.Repository, e.Registry, summarize(e.Err))
}

func (e *Error) Unwrap() error { return e.Err }

// summarize reduces a wrapped transport error to its useful last part.
func summarize(err error) string {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden {
			return fmt.Sprintf("access denied (HTTP %d): check credentials in the Docker config", te.StatusCode)
		}
		return fmt.Sprintf("HTTP %d: %s", te.StatusCode, strings.TrimSpace(te.Error()))
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": dial tcp"); i >= 0 {
		msg = "unreachable:" + msg[i+1:]
	}
	return msg
}

// Client reads and writes registries. It is safe for concurrent use.
type Client struct {
	insecure map[string]bool
	base     http.RoundTripper
	keychain authn.Keychain
	counter  *Counter
	inFlight int // per registry host; 0: unbounded
	cache    bool
	// referrersAPI: registry host -> whether it has the referrers API,
	// once its first answer told.
	referrersAPI sync.Map
	retry        policy
	mu           sync.Mutex
	wrappers     map[string]http.RoundTripper // registry (+ " push") -> authenticated transport
	manifests    sync.Map                     // repo@digest -> *remote.Descriptor, for tagging
	userAgent    string
}

// Option configures a Client.
type Option func(*Client)

// WithInsecure allows plain HTTP (and unverified TLS) for the given hosts
// (host or host:port). Loopback registries always allow plain HTTP. The
// default is none.
func WithInsecure(hosts ...string) Option {
	return func(c *Client) {
		for _, h := range hosts {
			c.insecure[h] = true
		}
	}
}

// WithCounter counts every HTTP request in cnt. The default counts nothing.
func WithCounter(cnt *Counter) Option { return func(c *Client) { c.counter = cnt } }

// WithMaxInFlight bounds the HTTP requests in flight to each registry
// host at n, for everything the client does (nested reads included): the
// one bound --jobs sets. n <= 0 leaves them unbounded (the default).
func WithMaxInFlight(n int) Option { return func(c *Client) { c.inFlight = n } }

// WithManifestCache answers manifest reads by digest from the manifests
// the client already read (by tag or by digest): an index status read at
// its tag is not read again by digest for what it holds, a child's base
// that is its parent's newest version is read once. Manifests are
// content-addressed, so the answers cannot be stale; tags are never
// cached. It is meant for commands that write nothing (plan, status,
// catalog, diff, verify, launcher, vulns): a manifest deleted by another
// client would still be answered. The default is no cache.
func WithManifestCache() Option { return func(c *Client) { c.cache = true } }

// WithKeychain sets where credentials come from. The default is
// go-containerregistry's default keychain (Docker config and credential helpers).
func WithKeychain(k authn.Keychain) Option { return func(c *Client) { c.keychain = k } }

// New returns a client with a pooled transport that retries every request
// that failed transiently (see Transient and WithRetries).
func New(opts ...Option) *Client {
	c := &Client{insecure: map[string]bool{}, keychain: authn.DefaultKeychain, wrappers: map[string]http.RoundTripper{}, userAgent: "imgctl", retry: defaultPolicy()}
	for _, o := range opts {
		o(c)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	tr.ResponseHeaderTimeout = 60 * time.Second
	var rt http.RoundTripper = &plainHTTPGuard{inner: tr, insecure: c.isInsecure}
	if c.inFlight > 0 {
		rt = &limiting{inner: rt, n: c.inFlight, hosts: map[string]chan struct{}{}}
	}
	if c.counter != nil {
		rt = &counting{inner: rt, c: c.counter}
	}
	c.base = &retrying{inner: rt, p: &c.retry}
	if c.cache {
		c.base = &manifestCache{inner: c.base}
	}
	return c
}

// Repository parses a repository name, applying the insecure setting.
func (c *Client) Repository(repo string) (name.Repository, error) {
	r, err := name.NewRepository(repo, c.nameOptions(repo)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("parsing repository %q: %w", repo, err)
	}
	return r, nil
}

// Reference parses a tag or digest reference, applying the insecure setting.
func (c *Client) Reference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, c.nameOptions(ref)...)
	if err != nil {
		return nil, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	return r, nil
}

// nameOptions marks names of insecure registries for go-containerregistry.
func (c *Client) nameOptions(ref string) []name.Option {
	if c.isInsecure(ref) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// PlainHTTP reports whether the registry of ref (host[:port][/…]) is
// spoken to over plain HTTP: loopback hosts, and hosts marked insecure.
func (c *Client) PlainHTTP(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	return isLoopback(hostname) || c.isInsecure(ref)
}

// isInsecure reports whether the host of ref (host[:port][/…]) was marked
// insecure, by host:port or by host alone.
func (c *Client) isInsecure(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	return c.insecure[host] || c.insecure[strings.Split(host, ":")[0]]
}

// transport returns the registry's authenticated transport for the given
// access (pull, or pull and push), doing the auth handshake once per
// registry rather than once per repository or operation. Token scopes for
// further repositories are added by go-containerregistry from the
// registry's challenges.
func (c *Client) transport(ctx context.Context, repo name.Repository, push bool) (http.RoundTripper, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := repo.RegistryStr()
	scope := repo.Scope(transport.PullScope)
	if push {
		key += " push"
		scope = repo.Scope(transport.PushScope)
	}
	if t, ok := c.wrappers[key]; ok {
		return t, nil
	}
	auth, err := authn.Resolve(ctx, c.keychain, repo)
	if err != nil {
		return nil, err
	}
	t, err := transport.NewWithContext(ctx, repo.Registry, auth, c.base, []string{scope})
	if err != nil {
		return nil, err
	}
	c.wrappers[key] = t
	return t, nil
}

// ReadOptions are the remote options for reads in repo, sharing the
// registry's authenticated transport, with the client's retry policy.
func (c *Client) ReadOptions(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	t, err := c.transport(ctx, repo, false)
	if err != nil {
		return nil, err
	}
	return c.options(ctx, t), nil
}

// WriteOptions are the remote options for writes to repo's registry,
// sharing one authenticated push transport per registry, with the client's
// retry policy: requests are retried by the transport, and blob uploads
// that failed in their upload session are restarted by
// go-containerregistry (see remoteRetry). Waits between restarts end with
// ctx.
func (c *Client) WriteOptions(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	t, err := c.transport(ctx, repo, true)
	if err != nil {
		return nil, c.fail("authenticating for push", repo, err)
	}
	return c.options(ctx, t), nil
}

func (c *Client) options(ctx context.Context, t http.RoundTripper) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx), remote.WithTransport(t), remote.WithUserAgent(c.userAgent)}, c.remoteRetry(ctx)...)
}

func (c *Client) fail(op string, repo name.Repository, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%s of %s: %w", op, repo.Name(), ErrNotFound)
	}
	return &Error{Op: op, Registry: repo.RegistryStr(), Repository: repo.RepositoryStr(), Err: err}
}

func isNotFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode:
				return true
			}
		}
	}
	return false
}

// ListTags lists the tags of repo; a repository that does not exist has none.
func (c *Client) ListTags(ctx context.Context, repo string) ([]string, error) {
	r, err := c.Repository(repo)
	if err != nil {
		return nil, err
	}
	opts, err := c.ReadOptions(ctx, r)
	if err != nil {
		return nil, c.fail("listing tags", r, err)
	}
	tags, err := remote.List(r, opts...)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, c.fail("listing tags", r, err)
	}
	return tags, nil
}

// Manifest is a fetched manifest: its descriptor and annotations.
type Manifest struct {
	Descriptor  v1.Descriptor
	Annotations map[string]string
	Raw         []byte
	// Platforms are the platforms of an index's image manifests,
	// normalised and sorted (attestation manifests left out); nil for a
	// single image manifest.
	Platforms []string
	// Children are the manifests an index names, in its order (platform
	// and attestation manifests); nil for a single image manifest.
	Children []published.Child
}

// Get fetches the manifest ref points at.
func (c *Client) Get(ctx context.Context, ref string) (*Manifest, error) {
	r, err := c.Reference(ref)
	if err != nil {
		return nil, err
	}
	opts, err := c.ReadOptions(ctx, r.Context())
	if err != nil {
		return nil, c.fail("reading manifest", r.Context(), err)
	}
	d, err := remote.Get(r, opts...)
	if err != nil {
		return nil, c.fail("reading manifest "+r.Identifier(), r.Context(), err)
	}
	var m struct {
		Annotations map[string]string `json:"annotations"`
		Manifests   []struct {
			Digest      string            `json:"digest"`
			Platform    *v1.Platform      `json:"platform"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(d.Manifest, &m); err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", ref, err)
	}
	out := &Manifest{Descriptor: d.Descriptor, Annotations: m.Annotations, Raw: d.Manifest}
	if d.MediaType.IsIndex() {
		var ps []v1.Platform
		for _, e := range m.Manifests {
			ch := published.Child{Digest: e.Digest}
			switch {
			case e.Annotations[attestationTypeKey] == attestationType || e.Platform != nil && e.Platform.OS == "unknown":
				ch.Attestation = true
			case e.Platform != nil:
				ps = append(ps, *e.Platform)
				if p := platformList([]v1.Platform{*e.Platform}); len(p) == 1 {
					ch.Platform = p[0]
				}
			}
			out.Children = append(out.Children, ch)
		}
		out.Platforms = platformList(ps)
	}
	return out, nil
}

// Head resolves ref to a descriptor without fetching the manifest.
func (c *Client) Head(ctx context.Context, ref string) (v1.Descriptor, error) {
	r, err := c.Reference(ref)
	if err != nil {
		return v1.Descriptor{}, err
	}
	opts, err := c.ReadOptions(ctx, r.Context())
	if err != nil {
		return v1.Descriptor{}, c.fail("resolving", r.Context(), err)
	}
	d, err := remote.Head(r, opts...)
	if err != nil {
		return v1.Descriptor{}, c.fail("resolving "+r.Identifier(), r.Context(), err)
	}
	return *d, nil
}

// Tag points tag at the manifest with the given digest in repo. It never
// deletes anything; the manifest bytes are copied unchanged.
func (c *Client) Tag(ctx context.Context, repo, tag string, digest string) error {
	r, err := c.Repository(repo)
	if err != nil {
		return err
	}
	opts, err := c.ReadOptions(ctx, r)
	if err != nil {
		return c.fail("tagging", r, err)
	}
	key := r.Name() + "@" + digest
	cached, ok := c.manifests.Load(key)
	if !ok {
		d, err := remote.Get(r.Digest(digest), opts...)
		if err != nil {
			return c.fail("reading manifest "+digest, r, err)
		}
		cached, _ = c.manifests.LoadOrStore(key, d) // immutable: safe to keep
	}
	d := cached.(*remote.Descriptor)
	wopts, err := c.WriteOptions(ctx, r)
	if err != nil {
		return err
	}
	if err := remote.Tag(r.Tag(tag), d, wopts...); err != nil {
		return c.fail("writing tag "+tag, r, err)
	}
	return nil
}

// Platforms resolves ref and lists the platforms it provides, as
// "os/arch[/variant]" normalised like containerd's platforms package
// ("linux/arm64", not "linux/arm64/v8"): the platforms of an index's
// image manifests (attestation manifests, "unknown/unknown", are left
// out), or the platform in a single image's config.
func (c *Client) Platforms(ctx context.Context, ref string) (digest string, plats []string, err error) {
	r, err := c.Reference(ref)
	if err != nil {
		return "", nil, err
	}
	opts, err := c.ReadOptions(ctx, r.Context())
	if err != nil {
		return "", nil, c.fail("reading manifest", r.Context(), err)
	}
	d, err := remote.Get(r, opts...)
	if err != nil {
		return "", nil, c.fail("reading manifest "+r.Identifier(), r.Context(), err)
	}
	var ps []v1.Platform
	if d.MediaType.IsIndex() {
		idx, err := d.ImageIndex()
		if err != nil {
			return "", nil, fmt.Errorf("reading index %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return "", nil, fmt.Errorf("reading index %s: %w", ref, err)
		}
		for _, m := range im.Manifests {
			if m.Platform != nil {
				ps = append(ps, *m.Platform)
			}
		}
	} else {
		img, err := d.Image()
		if err != nil {
			return "", nil, fmt.Errorf("reading image %s: %w", ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return "", nil, c.fail("reading the config of "+r.Identifier(), r.Context(), err)
		}
		ps = append(ps, v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant})
	}
	return d.Digest.String(), platformList(ps), nil
}

// platformList formats ps normalised, sorted and without duplicates,
// leaving out attestation manifests ("unknown/unknown").
func platformList(ps []v1.Platform) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		if p.OS == "" || p.OS == "unknown" {
			continue
		}
		s := platforms.Format(platforms.Normalize(ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}))
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
