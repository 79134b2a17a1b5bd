package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/verify"
)

// TestVerifyOutputGolden: verify's text and JSON, rendered from one report
// value, for a library with a passing multi-platform version, one whose
// arm64 SBOM is missing and an unsigned one.
func TestVerifyOutputGolden(t *testing.T) {
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	both := func(sbomArm bool) []verify.Platform {
		return []verify.Platform{
			{Platform: "linux/amd64", Manifest: d("a"), SBOM: true, Provenance: true},
			{Platform: "linux/arm64", Manifest: d("b"), SBOM: sbomArm, Provenance: true},
		}
	}
	r := verifyReport{FormatVersion: verifyFormatVersion, Registry: "localhost:5000/datasci", Results: []verifyResult{
		{Image: "debian", Version: "2026.12.07", Digest: d("1"), OK: true, Report: &verify.Report{Ref: "localhost:5000/datasci/debian@" + d("1"), Signature: verify.SignatureValid, Platforms: both(true), Failures: []string{}}},
		{Image: "tools", Version: "2026.12.07", Digest: d("2"), Report: &verify.Report{Ref: "localhost:5000/datasci/tools@" + d("2"), Signature: verify.SignatureValid, Platforms: both(false), Failures: []string{"linux/arm64: no SBOM"}}},
		{Image: "r", Version: "2026.11.01", Digest: d("3"), Report: &verify.Report{Ref: "localhost:5000/datasci/r@" + d("3"), Signature: verify.SignatureMissing, Platforms: both(true)[:1], Failures: []string{"no signature"}}},
	}}
	var text, js bytes.Buffer
	writeVerifyText(&text, r)
	require.NoError(t, writeVerifyJSON(&js, r))
	goldentest.Check(t, "verify.txt", text.Bytes())
	goldentest.Check(t, "verify.json", js.Bytes())
}
