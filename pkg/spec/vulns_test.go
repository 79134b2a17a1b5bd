package spec

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVulnerabilityPolicy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x
registry: "r.example/x"
policy: {
	vulnDB: "r.example/x/imgctl-vulndb:latest"
	vulnerabilities: {
		fail:    "high"
		fixable: true
		ignore: [
			{id: "CVE-2024-1234", reason: "not reachable: we never parse untrusted JSON", until: "2027-01-31"},
			{id: "GHSA-xxxx", images: ["team"], reason: "accepted by security", until: "2026-12-10"},
		]
	}
}
images: base: from: "debian:12"
images: team: parent: "base"
`)
	lib, err := Load(dir)
	require.NoError(t, err)
	v := lib.Policy.Vulnerabilities
	assert.Equal(t, "r.example/x/imgctl-vulndb:latest", lib.Policy.VulnDB)
	assert.Equal(t, "high", v.Fail)
	assert.True(t, v.Fixable)
	require.Len(t, v.Ignore, 2)
	assert.Equal(t, 9, v.Ignore[0].Pos.Line)
	assert.Equal(t, 10, v.Ignore[1].Pos.Line)

	ig := v.Ignore[1]
	assert.True(t, ig.Applies([]string{"PYSEC-1", "ghsa-xxxx"}, "team", "2026-12-10"), "by alias, case-insensitive, on its last day")
	assert.False(t, ig.Applies([]string{"GHSA-xxxx"}, "team", "2026-12-11"), "expired")
	assert.False(t, ig.Applies([]string{"GHSA-xxxx"}, "base", "2026-12-01"), "another image")
	assert.True(t, v.Ignore[0].Applies([]string{"CVE-2024-1234"}, "base", "2026-12-01"), "every image")

	for _, c := range []struct{ policy, want string }{
		{`vulnerabilities: ignore: [{id: "CVE-1", images: ["nope"], reason: "r", until: "2027-01-01"}]`, `policy.vulnerabilities.ignore[0].images: no image "nope" in the library`},
		{`vulnerabilities: ignore: [{id: "CVE-1", reason: "r", until: "2027-02-30"}]`, `policy.vulnerabilities.ignore[0].until: "2027-02-30" is not a day (YYYY-MM-DD)`},
		{`vulnerabilities: ignore: [{id: "CVE-1", until: "2027-01-01"}]`, `reason`},
		{`vulnerabilities: fail: "severe"`, `fail`},
		{`vulnDB: "http://r.example/db"`, `policy.vulnDB: "http://r.example/db" is not an artifact reference`},
	} {
		write(t, dir, "a.cue", "package x\nregistry: \"r.example/x\"\npolicy: "+c.policy+"\nimages: base: from: \"debian:12\"\n")
		_, err := Load(dir)
		var errs Errors
		require.True(t, errors.As(err, &errs), "%s: %v", c.policy, err)
		assert.Contains(t, err.Error(), c.want, c.policy)
		assert.Equal(t, 3, errs[0].Pos.Line, "%s: %v", c.policy, err)
	}
}

func TestIgnoreWarnings(t *testing.T) {
	v := Vulnerabilities{Ignore: []VulnIgnore{
		{ID: "CVE-1", Until: "2027-01-31", Pos: Pos{Filename: "a.cue", Line: 9, Column: 4}},
		{ID: "CVE-2", Until: "2026-12-10", Pos: Pos{Filename: "a.cue", Line: 10, Column: 4}},
		{ID: "CVE-3", Until: "2026-12-06", Pos: Pos{Filename: "a.cue", Line: 11, Column: 4}},
		{ID: "CVE-4", Until: "2026-12-08", Pos: Pos{Filename: "a.cue", Line: 12, Column: 4}},
	}}
	var got []string
	for _, w := range v.IgnoreWarnings(time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)) {
		got = append(got, w.Error())
	}
	assert.Equal(t, []string{
		"a.cue:10:4: policy.vulnerabilities.ignore[1]: CVE-2 expires on 2026-12-10 (in 3 days): fix the images or renew it with a reason",
		"a.cue:11:4: policy.vulnerabilities.ignore[2]: CVE-3 expired on 2026-12-06: its findings are no longer ignored",
		"a.cue:12:4: policy.vulnerabilities.ignore[3]: CVE-4 expires on 2026-12-08 (in 1 day): fix the images or renew it with a reason",
	}, got)
}
