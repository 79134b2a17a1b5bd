package protocol

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The environment variables of the protocol.
const (
	// EnvSource names the built root filesystem (required).
	EnvSource = "BUILDKIT_SCAN_SOURCE"
	// EnvDestination names the directory for the statements (required).
	EnvDestination = "BUILDKIT_SCAN_DESTINATION"
	// EnvExtras names a directory of further root filesystems (optional).
	EnvExtras = "BUILDKIT_SCAN_SOURCE_EXTRAS"
	// EnvPrefix starts every variable BuildKit sets for the scanner,
	// including one per extra attest:sbom parameter.
	EnvPrefix = "BUILDKIT_SCAN_"
)

// The parameter keys understood, after EnvPrefix (in any case).
const (
	// ParamName sets Params.Name.
	ParamName = "NAME"
	// ParamVersion sets Params.Version.
	ParamVersion = "VERSION"
	// ParamSelect sets Params.Select.
	ParamSelect = "SELECT_CATALOGERS"
	// ParamFiles sets Params.Files.
	ParamFiles = "FILES"
)

// statementSuffix ends the name of every statement file: BuildKit's
// protocol document asks for <scan>.spdx.json.
const statementSuffix = ".spdx.json"

// In-toto values BuildKit checks or writes itself.
const (
	// StatementType is the in-toto statement type written; BuildKit writes
	// the same for its own statements (intoto.StatementInTotoV1).
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateSPDX is the only predicate type BuildKit's SBOM bundle
	// accepts (intoto.PredicateSPDX).
	PredicateSPDX = "https://spdx.dev/Document"
	// MaxStatementBytes is the size above which BuildKit refuses a
	// statement (maxAttestationBytes, exporter/attestation/make.go).
	MaxStatementBytes = 80 << 20
)

// ErrMissingEnv is returned (wrapped) when a required variable is unset or
// empty.
var ErrMissingEnv = errors.New("required environment variable not set")

// Request is one run of the scanner, as BuildKit asks for it.
type Request struct {
	// Destination is the directory the statements are written to.
	Destination string
	// Targets are the root filesystems to scan: the core one first, then
	// the extras sorted by name.
	Targets []Target
	// Params are the extra attest:sbom parameters.
	Params Params
	// Warnings are problems with the request that do not stop the scan
	// (unknown parameters, an extras entry that is not a directory).
	Warnings []string
}

// Target is one root filesystem to scan.
type Target struct {
	// Name is the last element of Path; the statement is Name.spdx.json.
	Name string
	// Path is the directory holding the root filesystem.
	Path string
	// Extra is true for an entry of BUILDKIT_SCAN_SOURCE_EXTRAS.
	Extra bool
}

// Params are the extra attest:sbom parameters understood.
type Params struct {
	// Name is the SPDX document name of the core target (NAME), e.g. the
	// image reference; extras get "<Name> <extra name>". The default is the
	// distribution found in the filesystem followed by "root filesystem".
	Name string
	// Version is the version recorded for the scanned filesystem (VERSION).
	// The default is none.
	Version string
	// Select adjusts syft's cataloger selection (SELECT_CATALOGERS,
	// comma-separated, as catalog.Config.Select). The default is none.
	Select []string
	// Files adds file entries with digests to the SBOM (FILES=true). The
	// default is false.
	Files bool
}

// FromEnv reads the request from environ (os.Environ's form). It fails with
// an error wrapping ErrMissingEnv when BUILDKIT_SCAN_SOURCE or
// BUILDKIT_SCAN_DESTINATION is unset or empty, and with another error when
// either is not a directory or a parameter has a bad value. An unset or
// empty BUILDKIT_SCAN_SOURCE_EXTRAS, or one naming no directory, means no
// extras, as the protocol says.
func FromEnv(environ []string) (Request, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	var req Request
	src, err := requiredDir(env, EnvSource, "the root filesystem to scan")
	if err != nil {
		return Request{}, err
	}
	req.Destination, err = requiredDir(env, EnvDestination, "the directory to write the SBOM statements to")
	if err != nil {
		return Request{}, err
	}
	req.Targets = []Target{{Name: filepath.Base(src), Path: src}}

	extras, warnings, err := readExtras(env[EnvExtras])
	if err != nil {
		return Request{}, err
	}
	req.Warnings = append(req.Warnings, warnings...)
	for _, x := range extras {
		if x.Name == req.Targets[0].Name {
			return Request{}, fmt.Errorf("reading %s: entry %s has the name of %s, and both statements would be %s%s",
				EnvExtras, x.Path, EnvSource, x.Name, statementSuffix)
		}
	}
	req.Targets = append(req.Targets, extras...)

	req.Params, warnings, err = parseParams(env)
	if err != nil {
		return Request{}, err
	}
	req.Warnings = append(req.Warnings, warnings...)
	return req, nil
}

// requiredDir returns env[key], which must name a directory.
func requiredDir(env map[string]string, key, what string) (string, error) {
	p := env[key]
	if p == "" {
		return "", fmt.Errorf("%w: %s (%s); imgctl-sbom-scanner is meant to be run by BuildKit as an SBOM generator (attest:sbom=generator=IMAGE), which sets it", ErrMissingEnv, key, what)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", key, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("reading %s: %s is not a directory", key, p)
	}
	return p, nil
}

// readExtras lists the extra targets in dir, sorted by name.
func readExtras(dir string) ([]Target, []string, error) {
	if dir == "" {
		return nil, nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", EnvExtras, err)
	}
	var out []Target
	var warnings []string
	for _, e := range entries { // os.ReadDir sorts by name
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p) // follows a symbolic link to a directory
		if err != nil || !fi.IsDir() {
			warnings = append(warnings, fmt.Sprintf("%s: skipping %s: not a directory", EnvExtras, p))
			continue
		}
		out = append(out, Target{Name: e.Name(), Path: p, Extra: true})
	}
	return out, warnings, nil
}

// parseParams reads the parameters from the BUILDKIT_SCAN_ variables that
// are not the protocol's own.
func parseParams(env map[string]string) (Params, []string, error) {
	var p Params
	var warnings []string
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == EnvSource || k == EnvDestination || k == EnvExtras {
			continue
		}
		v := env[k]
		switch strings.ToUpper(strings.TrimPrefix(k, EnvPrefix)) {
		case ParamName:
			p.Name = v
		case ParamVersion:
			p.Version = v
		case ParamSelect:
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					p.Select = append(p.Select, s)
				}
			}
		case ParamFiles:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Params{}, nil, fmt.Errorf("reading %s: %q is not true or false", k, v)
			}
			p.Files = b
		default:
			warnings = append(warnings, fmt.Sprintf("ignoring unknown parameter %s (known: %s, %s, %s, %s)",
				k, ParamName, ParamVersion, ParamSelect, ParamFiles))
		}
	}
	return p, warnings, nil
}
