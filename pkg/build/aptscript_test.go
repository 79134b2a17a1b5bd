package build

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgctl/imgctl/pkg/lock"
)

// TestAptLockedScriptFlow runs the locked apt script against stand-ins
// for apt-get and apt-cache: the versions are looked up only when the
// install fails, and then the one the archive lacks is named.
func TestAptLockedScriptFlow(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"apt-get":   "echo apt-get \"$@\" >> " + dir + "/log\n[ \"$1\" = install ] && [ -n \"$FAIL\" ] && exit 100\nexit 0\n",
		"apt-cache": "echo apt-cache \"$@\" >> " + dir + "/log\ncase \"$2\" in *0.0-imgctl*) exit 0;; esac\necho 'Version: 1'\n",
		"rm":        "exit 0\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := aptLockedScript("base", []lock.AptPackage{{Name: "jq", Version: "1.6", Arch: "amd64"}, {Name: "libjq1", Version: "0.0-imgctl", Arch: "amd64"}})
	run := func(fail string) (string, string, error) {
		os.Remove(filepath.Join(dir, "log"))
		cmd := exec.Command("sh", "-c", s)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "FAIL=" + fail}
		var e strings.Builder
		cmd.Stderr = &e
		err := cmd.Run()
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return string(log), e.String(), err
	}
	log, _, err := run("")
	if err != nil || strings.Contains(log, "apt-cache") {
		t.Fatalf("happy path: %v\n%s", err, log)
	}
	log, stderr, err := run("1")
	if err == nil || !strings.Contains(stderr, "locked libjq1=0.0-imgctl is no longer served by the archive; run imgctl lock --upgrade base") {
		t.Fatalf("failure: %v\n%s\n%s", err, log, stderr)
	}
}
