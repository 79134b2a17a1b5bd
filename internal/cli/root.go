package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/publish"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitUsage   = 2
	ExitChanges = 2 // plan --detailed-exitcode: changes present
)

// exitError carries an exit code through cobra; reported says the message was
// already printed.
type exitError struct {
	code     int
	err      error
	reported bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// streams are the command's outputs: results on out, logs on errOut.
type streams struct {
	out, errOut io.Writer
}

// Run executes imgctl with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(streams{out: stdout, errOut: stderr})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.reported {
			fmt.Fprintf(stderr, "imgctl: %v\n", ee.err)
			writeHints(stderr, ee.err)
		}
		if ee.code == ExitUsage {
			fmt.Fprintf(stderr, "Run 'imgctl --help' for usage.\n")
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "imgctl: %v\n", err)
	writeHints(stderr, err)
	return ExitError
}

// hints are what to do about errors the library packages return as typed
// errors, in the command line's terms: flags and the project's scripts.
func hints(err error) []string {
	var out []string
	var ph *regclient.PlainHTTPError
	if errors.As(err, &ph) {
		out = append(out, fmt.Sprintf("pass --insecure-registry %s if that registry has no TLS", ph.Host))
	}
	if errors.Is(err, publish.ErrPlatformUnsupported) {
		out = append(out, "for emulated platforms install qemu-user-static, enable its binfmt_misc handlers (hack/install-deps.sh binfmt) and restart buildkitd; or point --buildkit at a daemon that has them")
	}
	return out
}

func writeHints(w io.Writer, err error) {
	for _, h := range hints(err) {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
}

func newRoot(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "imgctl",
		Short:         "Declarative container-image builds for data-science platforms",
		Long:          "imgctl builds a library of container images declared in CUE, publishes each under a dated tag and marks superseded versions deprecated in the registry.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(s.out)
	root.SetErr(s.errOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	root.AddCommand(
		newValidateCmd(s),
		newGraphCmd(s),
		newPlanCmd(s),
		newPublishCmd(s),
		newStatusCmd(s),
		newCatalogCmd(s),
		newRenderCmd(s),
		newScannerCmd(s),
		newVerifyCmd(s),
		newKeygenCmd(s),
		newDiffCmd(s),
		newTestCmd(s),
		newLockCmd(s),
		newVulnsCmd(s),
		newVulnDBCmd(s),
		newSizesCmd(s),
		newLauncherCmd(s),
		newPruneCmd(s),
		newMirrorCmd(s),
	)
	return root
}

// dirArg returns the spec directory argument, defaulting to images/.
func dirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "images"
}

// maxArgs is cobra.MaximumNArgs with a usage exit code.
func maxArgs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErr("too many arguments: %q", args[n:])
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs with a usage exit code.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < lo {
			return usageErr("want at least %d arguments, got %d", lo, len(args))
		}
		return maxArgs(hi)(nil, args)
	}
}

// loadLibrary loads dir and renders spec errors, one "file:line:col: message"
// per line relative to the working directory.
func loadLibrary(s streams, dir string) (*spec.Library, error) {
	lib, err := spec.Load(dir)
	if err == nil {
		return lib, nil
	}
	if errors.Is(err, spec.ErrNoDir) {
		return nil, usageErr("%v", err)
	}
	return nil, specErrors(s, err)
}

// specErrors prints spec errors one "file:line:col: message" per line,
// relative to the working directory, and returns the exit error that says
// they were reported; other errors are returned as they are.
func specErrors(s streams, err error) error {
	var errs spec.Errors
	if errors.As(err, &errs) {
		wd, _ := os.Getwd()
		for _, e := range errs.Relative(wd) {
			fmt.Fprintln(s.errOut, e.Error())
		}
		return &exitError{code: ExitError, err: err, reported: true}
	}
	return err
}

// loadBuildable is loadLibrary for the commands that build or would
// build (validate, plan, publish): it also refuses locks they cannot
// build from (spec.CheckLocks), rendered like spec errors.
// With targets, only their locks and their ancestors' are checked.
func loadBuildable(s streams, dir string, targets ...string) (*spec.Library, error) {
	lib, err := loadLibrary(s, dir)
	if err != nil {
		return nil, err
	}
	var scope []string
	if len(targets) > 0 {
		scope = lib.Graph().Closure(targets)
	}
	if err := spec.CheckLocks(lib, scope...); err != nil {
		return nil, specErrors(s, err)
	}
	return lib, nil
}

// displayDir renders dir for messages, relative to the working directory.
func displayDir(dir string) string {
	wd, _ := os.Getwd()
	if abs, err := filepath.Abs(dir); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil {
			return rel
		}
	}
	return dir
}
