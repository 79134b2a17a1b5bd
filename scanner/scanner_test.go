package scanner_test

import (
	"os"
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
