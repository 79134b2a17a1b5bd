package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/connhelper"
	"google.golang.org/grpc/status"

	// Register the docker-container:// and kube-pod:// connection helpers.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
)

// Client builds images on one BuildKit daemon. It is safe for concurrent
// use: each Build is its own solve.
type Client struct {
	bk       *client.Client
	addr     string
	log      *slog.Logger
	keychain authn.Keychain
}

// TLS configures a tcp:// connection to BuildKit. Paths are read when the
// connection is made, not by the option.
type TLS struct {
	// CACert is the CA certificate file that verifies the daemon.
	CACert string
	// Cert and Key are the client certificate and key files; both or
	// neither.
	Cert, Key string
	// ServerName is the name the daemon's certificate is checked against;
	// "" uses the host of the address.
	ServerName string
}

type options struct {
	tls         *TLS
	log         *slog.Logger
	keychain    authn.Keychain
	dialTimeout time.Duration
}

// Option configures New.
type Option func(*options) error

// WithTLS connects with TLS. The default is no TLS (unix://, or a tcp://
// daemon without it).
func WithTLS(t TLS) Option {
	return func(o *options) error {
		if (t.Cert == "") != (t.Key == "") {
			return errors.New("TLS client certificate and key must be given together")
		}
		o.tls = &t
		return nil
	}
}

// WithLogger sets where warnings go (for example a missing build cache).
// The default is a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		return nil
	}
}

// WithKeychain sets the credentials used to read base image configs
// (BuildKit's own pulls and pushes use this process's Docker config file).
// The default is authn.DefaultKeychain.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("nil keychain")
		}
		o.keychain = k
		return nil
	}
}

// WithDialTimeout bounds how long New waits for the daemon to answer. The
// default is 10 seconds.
func WithDialTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("dial timeout %v is not positive", d)
		}
		o.dialTimeout = d
		return nil
	}
}

// New connects to the BuildKit daemon at addr (unix://, tcp://,
// docker-container://, kube-pod://, …) and checks that it answers.
func New(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	o := options{log: slog.New(slog.NewTextHandler(io.Discard, nil)), keychain: authn.DefaultKeychain, dialTimeout: 10 * time.Second}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("connecting to BuildKit at %s: %w", addr, err)
		}
	}
	if err := checkScheme(addr); err != nil {
		return nil, fmt.Errorf("connecting to BuildKit at %s: %w", addr, err)
	}
	var copts []client.ClientOpt
	if t := o.tls; t != nil {
		copts = append(copts, client.WithServerConfig(t.ServerName, t.CACert))
		if t.Cert != "" {
			copts = append(copts, client.WithCredentials(t.Cert, t.Key))
		}
	}
	bk, err := client.New(ctx, addr, copts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to BuildKit at %s: %s", addr, oneLine(grpcMessage(err)))
	}
	ictx, cancel := context.WithTimeout(ctx, o.dialTimeout)
	defer cancel()
	if _, err := bk.ListWorkers(ictx); err != nil {
		bk.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connecting to BuildKit at %s: %w", addr, ctx.Err())
		}
		return nil, fmt.Errorf("connecting to BuildKit at %s: %s", addr, oneLine(grpcMessage(err)))
	}
	return &Client{bk: bk, addr: addr, log: o.log, keychain: o.keychain}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.bk.Close() }

// checkScheme refuses an address no transport or connection helper knows.
func checkScheme(addr string) error {
	u, err := url.Parse(addr)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "unix", "tcp", "npipe":
		return nil
	}
	if h, err := connhelper.GetConnectionHelper(addr); err != nil {
		return err
	} else if h == nil {
		return fmt.Errorf("unsupported address scheme %q (want unix://, tcp://, docker-container://, kube-pod://, …)", u.Scheme)
	}
	return nil
}

// grpcMessage is the message of a gRPC error without the "rpc error: code
// = … desc =" wrapping.
func grpcMessage(err error) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok && st.Message() != "" {
		msg = st.Message()
		if i := strings.Index(err.Error(), "rpc error:"); i > 0 {
			msg = err.Error()[:i] + msg
		}
	}
	return msg
}

// Addr is the daemon's address, as given to New.
func (c *Client) Addr() string { return c.addr }

// Capabilities is what a builder can build, asked once before a publish
// builds anything: every builder (one daemon, a pool, a retrying wrapper)
// answers it, so no caller finds abilities by type assertion.
type Capabilities struct {
	// Platforms are the platforms it builds ("linux/amd64", …); nil when
	// it cannot tell (nothing is checked then).
	Platforms []string
	// Slots is how many builds it runs at a time; 0 leaves the caller's
	// bound (a pool of daemons: jobs per daemon up).
	Slots int
	// Addr names its daemon(s) in errors.
	Addr string
	// Native are the platforms the daemons themselves run on (each
	// worker's first platform, as BuildKit lists it: the host's), sorted.
	// BuildKit runs an SBOM generator image there, whatever the platform
	// built. Platforms is sorted, so its first entry is not the native
	// one: linux/386 sorts before linux/amd64.
	Native []string
}

// Capabilities asks the daemon which platforms its workers build and
// which they run on.
func (c *Client) Capabilities(ctx context.Context) (Capabilities, error) {
	plats, native, err := c.workers(ctx)
	return Capabilities{Platforms: plats, Native: native, Addr: c.addr}, err
}

// BuildKit is the daemon's client, for solves of other packages
// (imagetest runs commands in built images with it).
func (c *Client) BuildKit() *client.Client { return c.bk }

// Platforms lists the platforms the daemon's workers can build,
// normalised ("linux/arm64"), sorted. Emulated platforms are listed only
// when binfmt_misc handlers were enabled before the daemon started.
func (c *Client) Platforms(ctx context.Context) ([]string, error) {
	plats, _, err := c.workers(ctx)
	return plats, err
}

// workers lists the platforms the daemon's workers build and the ones they
// run on (each worker's first), both normalised and sorted.
func (c *Client) workers(ctx context.Context) (plats, native []string, err error) {
	ws, err := c.bk.ListWorkers(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the workers of BuildKit at %s: %s", c.addr, oneLine(grpcMessage(err)))
	}
	for _, w := range ws {
		for i, p := range w.Platforms {
			s := platforms.Format(platforms.Normalize(p))
			if !slices.Contains(plats, s) {
				plats = append(plats, s)
			}
			if i == 0 && !slices.Contains(native, s) {
				native = append(native, s)
			}
		}
	}
	sort.Strings(plats)
	sort.Strings(native)
	return plats, native, nil
}
