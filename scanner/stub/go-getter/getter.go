// Package getter stands in for github.com/hashicorp/go-getter in imgctl's
// SBOM scanner (see README.md): the names syft's internal/file package uses,
// and a Client that downloads nothing. The scanner catalogues a local
// directory and never asks it to.
package getter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
)

// ErrNoDownloads is what every Get returns: this build downloads nothing.
var ErrNoDownloads = errors.New("downloading is not built into imgctl-sbom-scanner (it catalogues a local root filesystem; see scanner/stub/go-getter)")

// ClientMode is the mode of a download (as go-getter's).
type ClientMode uint

// The modes go-getter defines.
const (
	ClientModeInvalid ClientMode = iota
	ClientModeAny
	ClientModeFile
	ClientModeDir
)

// Getter is go-getter's interface of a protocol's downloader.
type Getter interface {
	Get(string, *url.URL) error
	GetFile(string, *url.URL) error
	ClientMode(*url.URL) (ClientMode, error)
	SetClient(*Client)
}

// Decompressor is go-getter's interface of an archive format.
type Decompressor interface {
	Decompress(dst, src string, dir bool, umask os.FileMode) error
}

// ProgressTracker is go-getter's download progress callback.
type ProgressTracker interface {
	TrackProgress(src string, currentSize, totalSize int64, stream io.ReadCloser) (body io.ReadCloser)
}

// ClientOption configures a Client.
type ClientOption func(*Client) error

// Client is a download request; Get refuses it.
type Client struct {
	Ctx              context.Context
	Src, Dst, Pwd    string
	Mode             ClientMode
	Umask            os.FileMode
	Decompressors    map[string]Decompressor
	Getters          map[string]Getter
	Dir              bool
	ProgressListener ProgressTracker
	Options          []ClientOption
}

// Get applies the options and returns an error wrapping ErrNoDownloads.
func (c *Client) Get() error {
	for _, o := range c.Options {
		if err := o(c); err != nil {
			return err
		}
	}
	return fmt.Errorf("getting %s: %w", c.Src, ErrNoDownloads)
}

// WithProgress sets the client's progress tracker.
func WithProgress(pl ProgressTracker) func(*Client) error {
	return func(c *Client) error { c.ProgressListener = pl; return nil }
}

// WithDecompressors sets the client's decompressors.
func WithDecompressors(d map[string]Decompressor) ClientOption {
	return func(c *Client) error { c.Decompressors = d; return nil }
}

// noDecompressor is the stand-in of every archive format.
type noDecompressor struct{}

func (noDecompressor) Decompress(dst, src string, _ bool, _ os.FileMode) error {
	return fmt.Errorf("decompressing %s: %w", src, ErrNoDownloads)
}

// LimitedDecompressors returns the archive formats go-getter knows, by
// name (syft reads the names), each refusing to decompress.
func LimitedDecompressors(int, int64) map[string]Decompressor {
	m := map[string]Decompressor{}
	for _, n := range []string{"bz2", "gz", "xz", "zip", "zst", "tar", "tar.bz2", "tar.tbz2", "tar.gz", "tgz", "tar.xz", "txz", "tar.zst", "tzst"} {
		m[n] = noDecompressor{}
	}
	return m
}

// Decompressors is LimitedDecompressors without limits.
var Decompressors = LimitedDecompressors(0, 0)

// getter is the stand-in of every protocol.
type getter struct{}

func (getter) Get(dst string, u *url.URL) error {
	return fmt.Errorf("getting %s: %w", u, ErrNoDownloads)
}

func (getter) GetFile(dst string, u *url.URL) error {
	return fmt.Errorf("getting %s: %w", u, ErrNoDownloads)
}

func (getter) ClientMode(*url.URL) (ClientMode, error) { return ClientModeInvalid, ErrNoDownloads }

func (getter) SetClient(*Client) {}

// The protocols syft names.
type (
	// HttpGetter is go-getter's HTTP(S) getter's configuration.
	HttpGetter struct { //nolint:revive // go-getter's name
		getter
		Client *http.Client
		Header http.Header
	}
	// FileGetter stands in for go-getter's.
	FileGetter struct{ getter }
	// GitGetter stands in for go-getter's.
	GitGetter struct{ getter }
	// GCSGetter stands in for go-getter's.
	GCSGetter struct{ getter }
	// HgGetter stands in for go-getter's.
	HgGetter struct{ getter }
	// S3Getter stands in for go-getter's.
	S3Getter struct{ getter }
)
