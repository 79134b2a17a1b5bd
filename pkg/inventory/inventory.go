package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/package-url/packageurl-go"

	"github.com/imgctl/imgctl/pkg/attest"
)

// Ecosystems, in the order reports list them.
const (
	Deb    = "deb"
	Python = "python"
	R      = "R"
	Other  = "other"
)

// Ecosystems lists every ecosystem in report order.
var Ecosystems = []string{Deb, Python, R, Other}

// Package is one package a version's SBOM lists.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// Type is the package URL type ("npm", "golang", …) of an Other
	// package; "" when it had no package URL.
	Type string `json:"type,omitempty"`
	// OS says a package of another ecosystem lies where only the OS
	// package manager installs (/usr/lib, not /usr/local): a Debian
	// package's files, such as python3-numpy's numpy in
	// /usr/lib/python3/dist-packages. A deb package is never OS.
	OS bool `json:"os,omitempty"`
	// Distro is a deb package's distribution and release from its package
	// URL ("debian-12.15"); Source and SourceVersion its source package
	// when the package URL names one that differs (bsdutils is built from
	// util-linux 2.38.1-5+deb12u3). Vulnerability records are keyed by them.
	Distro        string `json:"distro,omitempty"`
	Source        string `json:"source,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	// Size is the installed size in bytes the SBOM records (dpkg's
	// Installed-Size, a Python RECORD's sum); 0 when it records none. It
	// is not part of a package's identity: Version.Packages keeps the
	// largest of the platforms'.
	Size int64 `json:"installed_size,omitempty"`
}

// Config is the part of an image configuration a user notices.
type Config struct {
	Env        []string          `json:"env,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Cmd        []string          `json:"cmd,omitempty"`
	User       string            `json:"user,omitempty"`
	WorkingDir string            `json:"workdir,omitempty"`
	Ports      []string          `json:"ports,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// Platform is one platform of a version.
type Platform struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	// Size is the compressed size: the config and every layer, as pulled.
	Size   int64 `json:"size"`
	Layers int   `json:"layers"`
	// Config is nil unless Options.Config.
	Config *Config `json:"config,omitempty"`
	// SBOM says the platform carries an SBOM attestation (read only with
	// Options.Packages: the attestation manifests are not read otherwise);
	// Packages are what it lists, sorted by ecosystem, name and version,
	// without duplicates.
	SBOM     bool      `json:"sbom"`
	Packages []Package `json:"packages,omitempty"`
}

// Version is what a published version holds.
type Version struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	// Annotations are the index's (or single manifest's) annotations:
	// content key, base name and digest, source, revision.
	Annotations map[string]string `json:"annotations,omitempty"`
	Platforms   []Platform        `json:"platforms"`
}

// Platform returns the platform p of v, or nil.
func (v *Version) Platform(p string) *Platform {
	for i := range v.Platforms {
		if v.Platforms[i].Platform == p {
			return &v.Platforms[i]
		}
	}
	return nil
}

// HasPackages says every platform of v has an SBOM (read with
// Options.Packages).
func (v *Version) HasPackages() bool {
	for _, p := range v.Platforms {
		if !p.SBOM {
			return false
		}
	}
	return len(v.Platforms) > 0
}

// Packages returns the packages of every platform, merged: a package
// listed with the same version on several platforms once. Architecture
// never enters a package's identity, so amd64 and arm64 builds of one
// environment list the same packages.
func (v *Version) Packages() []Package {
	var all []Package
	for _, p := range v.Platforms {
		all = append(all, p.Packages...)
	}
	return sortUnique(all)
}

// Options say what Read reads beyond the manifests.
type Options struct {
	// Config reads each platform's image configuration (one blob each).
	Config bool
	// Packages reads each platform's SBOM (one blob each when present).
	Packages bool
	// Jobs bounds concurrent reads; the default is 4.
	Jobs int
	// Cache, when set, keeps what each platform manifest holds across
	// reads: versions that share a platform (content-addressed, so the
	// same digest is the same image) read its manifest and SBOM once.
	Cache *Cache
}

// Cache holds platforms read, by manifest digest and what was read.
type Cache struct {
	mu sync.Mutex
	m  map[string]Platform
}

func (c *Cache) get(k string) (Platform, bool) {
	if c == nil {
		return Platform{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[k]
	return p, ok
}

func (c *Cache) put(k string, p Platform) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Platform{}
	}
	c.m[k] = p
}

// Reader reads versions through a registry client's remote options
// (regclient.Client.ReadOptions: transport, auth, retries).
type Reader struct {
	Remote func(ctx context.Context, repo name.Repository) ([]remote.Option, error)
}

// Read reads the version at ref.
func (r Reader) Read(ctx context.Context, ref name.Digest, o Options) (*Version, error) {
	var opts []remote.Option
	if r.Remote != nil {
		var err error
		if opts, err = r.Remote(ctx, ref.Context()); err != nil {
			return nil, err
		}
	}
	return Read(ctx, ref, o, opts...)
}

// Read reads the version at ref. opts are the registry's remote options
// (transport, auth); the reads end with ctx.
func Read(ctx context.Context, ref name.Digest, o Options, opts ...remote.Option) (*Version, error) {
	opts = append(append([]remote.Option{}, opts...), remote.WithContext(ctx))
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	v := &Version{Ref: ref.String(), Digest: desc.Digest.String()}
	if !desc.MediaType.IsIndex() {
		// A single manifest: one platform, no attestations.
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return nil, fmt.Errorf("parsing manifest %s: %w", ref, err)
		}
		v.Annotations = m.Annotations
		p := Platform{Digest: desc.Digest.String(), Size: manifestSize(m), Layers: len(m.Layers)}
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the config of %s: %w", ref, err)
		}
		p.Platform = platformString(cf.OS, cf.Architecture, cf.Variant)
		if o.Config {
			p.Config = configOf(cf)
		}
		v.Platforms = []Platform{p}
		return v, nil
	}
	var x *attest.Index
	if o.Packages {
		if x, err = attest.Read(ctx, ref, opts...); err != nil {
			return nil, err
		}
	} else if x, err = platformsOnly(ref, desc.Manifest); err != nil {
		return nil, err
	}
	v.Annotations = x.Annotations
	v.Platforms = make([]Platform, len(x.Platforms))
	eg, ctx := errgroup.WithContext(ctx)
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	eg.SetLimit(jobs)
	for i, ap := range x.Platforms {
		eg.Go(func() error {
			// The SBOM a platform has is part of the key: the same image
			// may be attested in one index and not in another.
			key := fmt.Sprintf("%s %s %v %v %v", ap.Manifest.Digest, ap.Platform, ap.SBOM() != nil, o.Config, o.Packages)
			if p, ok := o.Cache.get(key); ok {
				v.Platforms[i] = p
				return nil
			}
			p, err := readPlatform(ref.Context(), x, ap, o, opts)
			if err != nil {
				return fmt.Errorf("%s (%s): %w", ref, ap.Platform, err)
			}
			o.Cache.put(key, p)
			v.Platforms[i] = p
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return v, nil
}

// platformsOnly lists the image manifests of an index without reading its
// attestation manifests.
func platformsOnly(ref name.Digest, raw []byte) (*attest.Index, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index %s: %w", ref, err)
	}
	x := &attest.Index{Ref: ref, Annotations: im.Annotations}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS == "unknown" || m.Annotations["vnd.docker.reference.type"] != "" {
			continue
		}
		x.Platforms = append(x.Platforms, attest.Platform{Platform: platformString(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant), Manifest: m})
	}
	sort.Slice(x.Platforms, func(i, j int) bool { return x.Platforms[i].Platform < x.Platforms[j].Platform })
	return x, nil
}

func readPlatform(repo name.Repository, x *attest.Index, ap attest.Platform, o Options, opts []remote.Option) (Platform, error) {
	p := Platform{Platform: ap.Platform, Digest: ap.Manifest.Digest.String(), SBOM: ap.SBOM() != nil}
	desc, err := remote.Get(repo.Digest(p.Digest), opts...)
	if err != nil {
		return p, fmt.Errorf("reading manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return p, fmt.Errorf("parsing manifest: %w", err)
	}
	p.Size, p.Layers = manifestSize(m), len(m.Layers)
	if o.Config {
		img, err := desc.Image()
		if err != nil {
			return p, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return p, fmt.Errorf("reading config: %w", err)
		}
		p.Config = configOf(cf)
	}
	if o.Packages && p.SBOM {
		st, err := x.ReadStatement(ap, *ap.SBOM())
		if err != nil {
			return p, err
		}
		s, err := attest.ParseSBOM(st)
		if err != nil {
			return p, err
		}
		p.Packages = Classify(s.Packages)
	}
	return p, nil
}

func manifestSize(m *v1.Manifest) int64 {
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

func platformString(os, arch, variant string) string {
	return platforms.Format(platforms.Normalize(ocispec.Platform{OS: os, Architecture: arch, Variant: variant}))
}

func configOf(cf *v1.ConfigFile) *Config {
	c := cf.Config
	out := &Config{
		Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		User: c.User, WorkingDir: c.WorkingDir, Labels: c.Labels,
	}
	for p := range c.ExposedPorts {
		out.Ports = append(out.Ports, p)
	}
	sort.Strings(out.Ports)
	return out
}

// Classify turns SBOM packages into Packages with their ecosystem, sorted
// and without duplicates. A package without a name is dropped (SPDX
// documents describe the scanned root itself so).
func Classify(in []attest.Package) []Package {
	out := make([]Package, 0, len(in))
	for _, p := range in {
		if p.Name == "" {
			continue
		}
		eco, typ := ecosystemOf(p.PURL, p.SourceInfo)
		x := Package{Ecosystem: eco, Name: p.Name, Version: p.Version, Type: typ, OS: eco != Deb && osOwned(p.SourceInfo), Size: p.InstalledSize}
		if eco == Deb {
			x.Distro, x.Source, x.SourceVersion = debOrigin(p.PURL)
		}
		out = append(out, x)
	}
	return sortUnique(out)
}

// ecosystemOf maps a package URL's type to an ecosystem; without one
// (syft writes no deb package URL for a root filesystem without
// /etc/os-release), how the scanner found the package decides.
func ecosystemOf(purl, sourceInfo string) (eco, typ string) {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		switch {
		case strings.Contains(sourceInfo, "DPKG DB"):
			return Deb, ""
		case strings.Contains(sourceInfo, "python package"):
			return Python, ""
		case strings.Contains(sourceInfo, "R-package"):
			return R, ""
		}
		return Other, ""
	}
	typ, _, _ = strings.Cut(rest, "/")
	switch strings.ToLower(typ) {
	case "deb":
		return Deb, ""
	case "pypi":
		return Python, ""
	case "cran":
		return R, ""
	}
	return Other, typ
}

// debOrigin reads a deb package URL's distro and upstream qualifiers
// ("…?arch=amd64&distro=debian-12.15&upstream=util-linux%402.38.1-5%2Bdeb12u3").
func debOrigin(p string) (distro, source, sourceVersion string) {
	u, err := packageurl.FromString(p)
	if err != nil {
		return "", "", ""
	}
	q := u.Qualifiers.Map()
	source, sourceVersion, _ = strings.Cut(q["upstream"], "@")
	if source == u.Name {
		source = "" // the same package: only a version, if any
	}
	return q["distro"], source, sourceVersion
}

// osOwned reports whether the first file the scanner read the package
// from ("… manifest file: /usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA, …")
// lies in the OS package manager's part of the tree: /usr/lib, /usr/share
// or /lib, but not /usr/local.
func osOwned(sourceInfo string) bool {
	_, rest, ok := strings.Cut(sourceInfo, ": /")
	if !ok {
		return false
	}
	path, _, _ := strings.Cut("/"+rest, ",")
	for _, pre := range []string{"/usr/lib/", "/usr/share/", "/lib/"} {
		if strings.HasPrefix(path, pre) {
			return true
		}
	}
	return false
}

func ecoRank(e string) int {
	for i, x := range Ecosystems {
		if x == e {
			return i
		}
	}
	return len(Ecosystems)
}

func sortUnique(ps []Package) []Package {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Ecosystem != b.Ecosystem {
			return ecoRank(a.Ecosystem) < ecoRank(b.Ecosystem)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return Compare(a.Ecosystem, a.Version, b.Version) < 0
		}
		return a.Type < b.Type
	})
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 {
			last := &out[n-1]
			same := p
			same.OS, same.Size = last.OS, last.Size
			if same == *last {
				last.OS = last.OS && p.OS // one copy outside the OS's tree is enough
				last.Size = max(last.Size, p.Size)
				continue
			}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ErrNoSBOM is returned when packages are asked of a version that has no
// SBOM attestation.
var ErrNoSBOM = errors.New("no SBOM attestation")
