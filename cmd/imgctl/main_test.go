package main

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/imgctl/imgctl/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"imgctl": func() {
			os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the CLI scripts in testdata/script. Set UPDATE=1 to
// rewrite the expected output in the scripts from the actual output.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "../../testdata/script",
		UpdateScripts: os.Getenv("UPDATE") != "",
		// Every script gets its own in-process registry as $REGISTRY.
		Setup: func(env *testscript.Env) error {
			srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
			env.Defer(srv.Close)
			env.Setenv("REGISTRY", strings.TrimPrefix(srv.URL, "http://"))
			return nil
		},
	})
}
