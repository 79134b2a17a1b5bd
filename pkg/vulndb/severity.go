package vulndb

import (
	"strings"

	"github.com/google/osv-scalibr/extractor"
	osvpb "github.com/ossf/osv-schema/bindings/go/osvschema"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// Severities, lowest first; Unknown ranks below Low.
const (
	Unknown  = "unknown"
	Low      = "low"
	Medium   = "medium"
	High     = "high"
	Critical = "critical"
)

// Rank orders severities: unknown 0, low 1 … critical 4; -1 for anything
// else.
func Rank(s string) int {
	switch strings.ToLower(s) {
	case Unknown:
		return 0
	case Low:
		return 1
	case Medium, "moderate":
		return 2
	case High:
		return 3
	case Critical:
		return 4
	}
	return -1
}

// severity is the highest CVSS rating of the record and of its affected
// entries for the package (go-cvss computes the base scores); without a
// vector, the severity the record's database or ecosystem states
// (GHSA's database_specific.severity, Debian's urgency); else unknown.
func severity(v *osvpb.Vulnerability, sp *extractor.Package, name string) (string, float64) {
	sevs := v.GetSeverity()
	var stated []string
	if s := v.GetDatabaseSpecific().GetFields()["severity"].GetStringValue(); s != "" {
		stated = append(stated, s)
	}
	for _, a := range v.GetAffected() {
		if !affects(a, sp, name) {
			continue
		}
		sevs = append(sevs, a.GetSeverity()...)
		for _, f := range []string{"severity", "urgency"} {
			if s := a.GetEcosystemSpecific().GetFields()[f].GetStringValue(); s != "" {
				stated = append(stated, s)
			}
			if s := a.GetDatabaseSpecific().GetFields()[f].GetStringValue(); s != "" {
				stated = append(stated, s)
			}
		}
	}
	best, score := "", 0.0
	for _, s := range sevs {
		sc, ok := cvssScore(s)
		if ok && (best == "" || sc > score) {
			best, score = rating(sc), sc
		}
	}
	if best != "" {
		return best, score
	}
	best = Unknown
	for _, s := range stated {
		s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "*")) // Debian marks "low*"
		if s == "moderate" {
			s = Medium
		}
		if Rank(s) > Rank(best) {
			best = s
		}
	}
	return best, 0
}

// cvssScore is the base score of a CVSS v3.0, v3.1 or v4.0 vector.
func cvssScore(s *osvpb.Severity) (float64, bool) {
	vec := s.GetScore()
	switch s.GetType() {
	case osvpb.Severity_CVSS_V3:
		if strings.HasPrefix(vec, "CVSS:3.0/") {
			c, err := gocvss30.ParseVector(vec)
			if err != nil {
				return 0, false
			}
			return c.BaseScore(), true
		}
		c, err := gocvss31.ParseVector(vec)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	case osvpb.Severity_CVSS_V4:
		c, err := gocvss40.ParseVector(vec)
		if err != nil {
			return 0, false
		}
		return c.Score(), true
	}
	return 0, false
}

// rating is CVSS's qualitative rating of a base score (the same for v3
// and v4): 0 is none, reported as low.
func rating(score float64) string {
	switch {
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	}
	return Low
}
