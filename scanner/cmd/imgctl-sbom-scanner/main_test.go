package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgctl/imgctl/scanner/internal/rootfstest"
	"github.com/imgctl/imgctl/scanner/protocol"
)

// TestMain runs main itself when the test binary is re-executed with
// runMainEnv set, so that exit codes and stderr can be checked.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const runMainEnv = "IMGCTL_SBOM_SCANNER_RUN_MAIN"

func TestRun(t *testing.T) {
	src, out := rootfstest.Write(t), t.TempDir()
	var stderr bytes.Buffer
	env := []string{protocol.EnvSource + "=" + src, protocol.EnvDestination + "=" + out, "BUILDKIT_SCAN_NAME=app"}
	if err := run(context.Background(), nil, env, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, &stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, filepath.Base(src)+".spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stmt struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	decodeJSON(t, data, &stmt)
	if stmt.PredicateType != protocol.PredicateSPDX {
		t.Errorf("predicateType %q", stmt.PredicateType)
	}
	rootfstest.CheckPackages(t, rootfstest.DecodeSPDX(t, stmt.Predicate))
}

func TestRunErrors(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), nil, []string{"HOME=/root"}, &stderr)
	if !errors.Is(err, protocol.ErrMissingEnv) || !strings.Contains(err.Error(), "BUILDKIT_SCAN_SOURCE") {
		t.Errorf("no environment: got %v, want the missing BUILDKIT_SCAN_SOURCE", err)
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"--help"}, nil, &stderr); !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "usage: imgctl-sbom-scanner") {
		t.Errorf("arguments: got %v and %q, want the usage", err, &stderr)
	}
}

// TestMainExit checks what a BuildKit user sees when the scanner is run
// without the protocol's environment: exit status 1 and one clear line.
func TestMainExit(t *testing.T) {
	dest := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{runMainEnv + "=1", protocol.EnvDestination + "=" + dest}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("got %v, want exit status 1; stderr:\n%s", err, &stderr)
	}
	want := "imgctl-sbom-scanner: error: required environment variable not set: BUILDKIT_SCAN_SOURCE (the root filesystem to scan); " +
		"imgctl-sbom-scanner is meant to be run by BuildKit as an SBOM generator (attest:sbom=generator=IMAGE), which sets it\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%q\nwant:\n%q", stderr.String(), want)
	}
}

func decodeJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
}
