package scanner_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMainModuleFreeOfSyft guards the reason this module exists: imgctl's
// own go.mod (one directory up) must not require syft or this module.
func TestMainModuleFreeOfSyft(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	if os.IsNotExist(err) {
		t.Skip("no ../go.mod: the scanner module is not inside imgctl's tree")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "module github.com/imgctl/imgctl\n") {
		t.Skip("../go.mod is not imgctl's")
	}
	for _, mod := range []string{"github.com/anchore/syft", "github.com/imgctl/imgctl/scanner"} {
		if strings.Contains(string(data), mod+" ") {
			t.Errorf("imgctl's go.mod requires %s: the scanner's dependencies belong in scanner/go.mod only", mod)
		}
	}
}

// TestNoDownloaders guards the scanner's cold build time: go-getter is
// replaced by the stand-in in stub/go-getter, so neither the AWS SDK nor
// the Google Cloud Storage client (nor gRPC's xDS) is compiled into it.
func TestNoDownloaders(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "./cmd/imgctl-sbom-scanner").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/aws/aws-sdk-go-v2/", "cloud.google.com/go/storage", "google.golang.org/grpc/xds"} {
			if strings.HasPrefix(pkg, heavy) {
				t.Errorf("the scanner links %s: is scanner/go.mod's replace of github.com/hashicorp/go-getter gone, or does syft reach %s some other way?", pkg, heavy)
			}
		}
	}
}
