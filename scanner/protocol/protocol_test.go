package protocol_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgctl/imgctl/scanner/internal/rootfstest"
	"github.com/imgctl/imgctl/scanner/protocol"
)

// layout makes the directories BuildKit mounts (frontend/attestations/sbom/
// sbom.go): the core filesystem at src/core/sbom, extras at
// src/extras/sbom-<name>, and an empty out/.
type layout struct {
	core, extras, out string
}

func newLayout(t *testing.T) layout {
	t.Helper()
	base := t.TempDir()
	l := layout{
		core:   filepath.Join(base, "src", "core", "sbom"),
		extras: filepath.Join(base, "src", "extras"),
		out:    filepath.Join(base, "out"),
	}
	for _, d := range []string{filepath.Dir(l.core), l.extras, l.out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(rootfstest.Write(t), l.core); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l layout) env(extra ...string) []string {
	return append([]string{
		"PATH=/usr/bin",
		protocol.EnvSource + "=" + l.core,
		protocol.EnvDestination + "=" + l.out,
	}, extra...)
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	for _, name := range []string{"sbom-stage", "sbom-context"} {
		if err := os.Mkdir(filepath.Join(l.extras, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(l.extras, "stray-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		env          []string
		wantTargets  []string
		wantParams   protocol.Params
		wantWarnings []string
	}{{
		name:        "core only",
		env:         l.env(),
		wantTargets: []string{"sbom"},
	}, {
		name:        "extras empty",
		env:         l.env(protocol.EnvExtras + "="),
		wantTargets: []string{"sbom"},
	}, {
		name:        "extras missing",
		env:         l.env(protocol.EnvExtras + "=" + filepath.Join(l.extras, "absent")),
		wantTargets: []string{"sbom"},
	}, {
		name:         "extras sorted, files skipped",
		env:          l.env(protocol.EnvExtras + "=" + l.extras),
		wantTargets:  []string{"sbom", "sbom-context", "sbom-stage"},
		wantWarnings: []string{"stray-file: not a directory"},
	}, {
		name: "parameters in any case",
		env: l.env(
			"BUILDKIT_SCAN_NAME=registry.example/app:1",
			"BUILDKIT_SCAN_version=1",
			"BUILDKIT_SCAN_Select_Catalogers=+conda-meta-cataloger, -rpm",
			"BUILDKIT_SCAN_FILES=true",
		),
		wantTargets: []string{"sbom"},
		wantParams: protocol.Params{Name: "registry.example/app:1", Version: "1",
			Select: []string{"+conda-meta-cataloger", "-rpm"}, Files: true},
	}, {
		name:         "unknown parameter",
		env:          l.env("BUILDKIT_SCAN_COLOUR=blue", "OTHER=x"),
		wantTargets:  []string{"sbom"},
		wantWarnings: []string{"ignoring unknown parameter BUILDKIT_SCAN_COLOUR"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := protocol.FromEnv(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if req.Destination != l.out {
				t.Errorf("destination %q, want %q", req.Destination, l.out)
			}
			var names []string
			for i, tg := range req.Targets {
				names = append(names, tg.Name)
				if tg.Extra != (i > 0) || filepath.Base(tg.Path) != tg.Name {
					t.Errorf("target %d: %+v", i, tg)
				}
			}
			if !slices.Equal(names, tt.wantTargets) {
				t.Errorf("targets %v, want %v", names, tt.wantTargets)
			}
			if !equalParams(req.Params, tt.wantParams) {
				t.Errorf("params %+v, want %+v", req.Params, tt.wantParams)
			}
			if len(req.Warnings) != len(tt.wantWarnings) {
				t.Fatalf("warnings %q, want %d", req.Warnings, len(tt.wantWarnings))
			}
			for i, w := range tt.wantWarnings {
				if !strings.Contains(req.Warnings[i], w) {
					t.Errorf("warning %q lacks %q", req.Warnings[i], w)
				}
			}
		})
	}
}

func equalParams(a, b protocol.Params) bool {
	return a.Name == b.Name && a.Version == b.Version && a.Files == b.Files && slices.Equal(a.Select, b.Select)
}

func TestFromEnvErrors(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		missing bool
		want    string
	}{
		{"nothing set", nil, true, "BUILDKIT_SCAN_SOURCE"},
		{"source missing", []string{protocol.EnvDestination + "=" + l.out}, true, "BUILDKIT_SCAN_SOURCE (the root filesystem to scan)"},
		{"source empty", []string{protocol.EnvSource + "=", protocol.EnvDestination + "=" + l.out}, true, "BUILDKIT_SCAN_SOURCE"},
		{"destination missing", []string{protocol.EnvSource + "=" + l.core}, true, "BUILDKIT_SCAN_DESTINATION"},
		{"source absent", []string{protocol.EnvSource + "=" + filepath.Join(l.core, "absent"), protocol.EnvDestination + "=" + l.out}, false, "reading BUILDKIT_SCAN_SOURCE"},
		{"destination a file", []string{protocol.EnvSource + "=" + l.core, protocol.EnvDestination + "=" + file}, false, "is not a directory"},
		{"bad FILES", l.env("BUILDKIT_SCAN_FILES=maybe"), false, `BUILDKIT_SCAN_FILES: "maybe" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := protocol.FromEnv(tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if got := errors.Is(err, protocol.ErrMissingEnv); got != tt.missing {
				t.Errorf("errors.Is(err, ErrMissingEnv) = %v, want %v", got, tt.missing)
			}
		})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	// An extra target with a single R package.
	extra := filepath.Join(l.extras, "sbom-context")
	desc := filepath.Join(extra, "usr", "lib", "R", "site-library", "jsonlite", "DESCRIPTION")
	if err := os.MkdirAll(filepath.Dir(desc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(desc, []byte("Package: jsonlite\nVersion: 1.8.4\nLicense: MIT + file LICENSE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req, err := protocol.FromEnv(l.env(protocol.EnvExtras+"="+l.extras, "BUILDKIT_SCAN_NAME=registry.example/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := protocol.Run(context.Background(), req, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("Run: %v\nlogs:\n%s", err, &logs)
	}
	t.Logf("logs:\n%s", &logs)

	stmts := Unbundle(t, l.out)
	if len(stmts) != 2 {
		t.Fatalf("got %d statements, want 2", len(stmts))
	}
	core := stmts["sbom.spdx.json"]
	doc := rootfstest.DecodeSPDX(t, core.Predicate)
	rootfstest.CheckPackages(t, doc)
	if doc.Name != "registry.example/app:1" {
		t.Errorf("core document name %q", doc.Name)
	}
	extraDoc := rootfstest.DecodeSPDX(t, stmts["sbom-context.spdx.json"].Predicate)
	if extraDoc.Name != "registry.example/app:1 sbom-context" {
		t.Errorf("extra document name %q", extraDoc.Name)
	}
	if got := extraDoc.PURLs(); len(got) != 1 || got["pkg:cran/jsonlite@1.8.4"].Version != "1.8.4" {
		t.Errorf("extra target packages: %v", got)
	}
	if !strings.Contains(logs.String(), "deb=2") {
		t.Errorf("the log does not count the deb packages:\n%s", &logs)
	}
}

// TestRunFailureLeavesNothing: a scan that fails writes no statement.
func TestRunFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	req, err := protocol.FromEnv(l.env("BUILDKIT_SCAN_SELECT_CATALOGERS=no-such-tag"))
	if err != nil {
		t.Fatal(err)
	}
	err = protocol.Run(context.Background(), req, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "scanning sbom") {
		t.Fatalf("got error %v, want a scanning error", err)
	}
	entries, _ := os.ReadDir(l.out)
	if len(entries) != 0 {
		t.Errorf("the destination holds %d entries after a failure", len(entries))
	}
}

// Unbundle reads dir the way BuildKit v0.34.2 unbundles an SBOM bundle
// (exporter/attestation/unbundle.go, unbundle and decodeStatement): every
// entry must be a regular file holding exactly one JSON in-toto statement
// of at most 80 MiB whose predicateType is the bundle's (SPDX). It also
// checks what BuildKit needs to treat the statements as SBOMs of the image
// (make.go, makeInTotoStatement: no subject, so the image becomes it;
// containerimage/attestations.go: the core SBOM's name before the first
// dot is "sbom").
func Unbundle(t *testing.T, dir string) map[string]protocol.Statement {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]protocol.Statement{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			t.Fatalf("%s is not a regular file (%v): BuildKit fails the build", e.Name(), e.Type())
		}
		if !strings.HasSuffix(e.Name(), ".spdx.json") {
			t.Errorf("%s: want <scan>.spdx.json (docs/attestations/sbom-protocol.md)", e.Name())
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > protocol.MaxStatementBytes {
			t.Errorf("%s is %d bytes, over BuildKit's limit", e.Name(), len(data))
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		var raw struct {
			Type          string            `json:"_type"`
			PredicateType string            `json:"predicateType"`
			Subject       []json.RawMessage `json:"subject"`
			Predicate     json.RawMessage   `json:"predicate"`
		}
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("%s: cannot decode in-toto statement: %v", e.Name(), err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			t.Fatalf("%s: in-toto statement is not a single JSON object", e.Name())
		}
		if raw.PredicateType != "https://spdx.dev/Document" {
			t.Errorf("%s: predicateType %q does not match the bundle's https://spdx.dev/Document", e.Name(), raw.PredicateType)
		}
		if raw.Type != "https://in-toto.io/Statement/v1" {
			t.Errorf("%s: _type %q", e.Name(), raw.Type)
		}
		if len(raw.Subject) != 0 {
			t.Errorf("%s: %d subjects; BuildKit would keep them instead of the image", e.Name(), len(raw.Subject))
		}
		out[e.Name()] = protocol.Statement{Type: raw.Type, PredicateType: raw.PredicateType, Predicate: raw.Predicate}
	}
	if _, ok := out["sbom.spdx.json"]; !ok {
		t.Errorf("no statement for the core target: BuildKit marks the one named sbom.* as the image's SBOM")
	}
	return out
}
