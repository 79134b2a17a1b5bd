package spec

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// This file parses pip requirement strings: PEP 508 dependency specifiers
// (https://peps.python.org/pep-0508/) with PEP 440 versions, as far as a
// spec can be checked without knowing the index. Environment markers are
// only checked for being non-empty and balanced.

// requirement is a parsed PEP 508 dependency specifier.
type requirement struct {
	Name       string
	Extras     []string
	Specifiers []versionSpec // empty when URL is set
	URL        string
	Marker     string // after ';', trimmed
}

// versionSpec is one version clause, e.g. {">=", "1.2"}.
type versionSpec struct{ Op, Version string }

// errPipOption is returned for a pip command-line option ("-r file",
// "--index-url x", "-e .") given as a package.
var errPipOption = errors.New("pip options are not package requirements; use pip.index")

var (
	// pep508NameRE is PEP 508's name (and extra) rule.
	pep508NameRE = lazyRegexp(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)

	// PEP 440 versions, following pypa/packaging's Specifier patterns.
	pep440Release = `v?([0-9]+!)?[0-9]+(\.[0-9]+)*`
	pep440Suffix  = `([-_.]?(alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?` + // pre-release
		`((-[0-9]+)|([-_.]?(post|rev|r)[-_.]?[0-9]*))?` + // post-release
		`([-_.]?dev[-_.]?[0-9]*)?` // dev release
	pep440Local = `(\+[a-z0-9]+([-_.][a-z0-9]+)*)?`
	// pep440RE is a version with an optional local label ("1.0+cu121").
	pep440RE = lazyRegexp(`(?i)^` + pep440Release + pep440Suffix + pep440Local + `$`)
	// pep440PublicRE is a version without a local label.
	pep440PublicRE = lazyRegexp(`(?i)^` + pep440Release + pep440Suffix + `$`)
	// pep440PrefixRE is the release before ".*" in "==1.2.*".
	pep440PrefixRE = lazyRegexp(`(?i)^` + pep440Release + `\.\*$`)
	// pep440TwoPartRE is a release of at least two parts, for "~=".
	pep440TwoPartRE = lazyRegexp(`(?i)^v?([0-9]+!)?[0-9]+(\.[0-9]+)+([^0-9.]|$)`)
)

// versionOps are PEP 440's comparison operators, longest first so that
// "===" is not read as "==".
var versionOps = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// checkRequirement checks one pip.packages entry. The error is the whole
// message, naming the entry.
func checkRequirement(s string) error {
	_, err := parseRequirement(s)
	switch {
	case errors.Is(err, errPipOption):
		return fmt.Errorf("%q: %w", s, err)
	case err != nil:
		return fmt.Errorf("%q is not a PEP 508 requirement: %w", s, err)
	}
	return nil
}

// parseRequirement parses a PEP 508 dependency specifier:
//
//	name [extras] [version specifiers | @ URL] [; marker]
//
// The error says what is wrong, without repeating s; it is errPipOption
// for a pip option.
func parseRequirement(s string) (requirement, error) {
	p := &reqParser{s: s}
	var req requirement
	p.space()
	if p.eof() {
		return req, errors.New("empty requirement")
	}
	if p.s[p.i] == '-' {
		return req, errPipOption
	}
	start := p.i
	req.Name = p.take(isNameChar)
	if strings.ContainsAny(s[start:start+1], "./~") || p.peek(":") || p.peek("+") && strings.Contains(s, "://") {
		return req, errors.New(`a requirement starts with the package name; write a URL or path as "name @ URL"`)
	}
	if req.Name == "" {
		return req, fmt.Errorf("a requirement starts with the package name, not %q", p.s[p.i:p.i+1])
	}
	if !pep508NameRE().MatchString(req.Name) {
		return req, fmt.Errorf("invalid name %q: letters, digits, '.', '_' and '-', starting and ending with a letter or digit", req.Name)
	}
	p.space()
	if p.peek("[") {
		extras, err := p.extras()
		if err != nil {
			return req, err
		}
		req.Extras = extras
		p.space()
	}
	switch {
	case p.peek("@"):
		u, err := p.url()
		if err != nil {
			return req, err
		}
		req.URL = u // it runs to a space or the end
	case p.peek("(") || p.atOp():
		specs, err := p.versionSpecs()
		if err != nil {
			return req, err
		}
		req.Specifiers = specs
	}
	p.space()
	if p.peek(";") {
		p.i++
		m, err := checkMarker(p.s[p.i:])
		req.Marker = m
		return req, err
	}
	if p.eof() {
		return req, nil
	}
	rest := p.s[p.i:]
	switch {
	case p.peek("@") && len(req.Specifiers) > 0:
		return req, errors.New(`a requirement with a URL ("name @ URL") takes no version specifier`)
	case req.URL != "" && (p.atOp() || p.peek("(")):
		return req, errors.New(`a requirement with a URL ("name @ URL") takes no version specifier`)
	case isNameChar(rest[0]) && req.URL == "":
		return req, fmt.Errorf("unexpected %q after %q: give one requirement per entry", rest, strings.TrimSpace(p.s[:p.i]))
	}
	return req, fmt.Errorf("unexpected %q after %q", rest, strings.TrimSpace(p.s[:p.i]))
}

// reqParser reads a requirement string from left to right.
type reqParser struct {
	s string
	i int
}

func (p *reqParser) eof() bool { return p.i >= len(p.s) }

func (p *reqParser) peek(prefix string) bool { return strings.HasPrefix(p.s[p.i:], prefix) }

func (p *reqParser) space() {
	for !p.eof() && isSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *reqParser) take(ok func(byte) bool) string {
	start := p.i
	for !p.eof() && ok(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// atOp reports whether a comparison operator starts here.
func (p *reqParser) atOp() bool { return !p.eof() && strings.IndexByte("<>=!~", p.s[p.i]) >= 0 }

// extras reads "[a, b]".
func (p *reqParser) extras() ([]string, error) {
	p.i++ // '['
	var out []string
	p.space()
	if p.peek("]") {
		p.i++
		return out, nil
	}
	for {
		p.space()
		e := p.take(isNameChar)
		if e == "" && p.eof() {
			return nil, errors.New(`extras: missing "]"`)
		}
		if !pep508NameRE().MatchString(e) {
			if e == "" {
				e = p.s[p.i : p.i+1]
			}
			return nil, fmt.Errorf("invalid extra %q: letters, digits, '.', '_' and '-', starting and ending with a letter or digit", e)
		}
		out = append(out, e)
		p.space()
		switch {
		case p.peek(","):
			p.i++
		case p.peek("]"):
			p.i++
			return out, nil
		case p.eof():
			return nil, errors.New(`extras: missing "]"`)
		default:
			return nil, fmt.Errorf("extras: unexpected %q", p.s[p.i:])
		}
	}
}

// url reads "@ URL", where URL runs to the next space.
func (p *reqParser) url() (string, error) {
	p.i++ // '@'
	p.space()
	raw := p.take(func(b byte) bool { return !isSpace(b) })
	if raw == "" {
		return "", errors.New(`missing URL after "@"`)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("invalid URL %q: %v", raw, err)
	case u.Scheme == "":
		return "", fmt.Errorf("URL %q has no scheme (https://…)", raw)
	case u.User != nil && slices.Contains([]string{"http", "https", "git+http", "git+https"}, u.Scheme):
		return "", errors.New("credentials in the URL would be recorded in the image; put them in an environment variable named by pip.credentialsEnv")
	case u.User != nil:
		if _, ok := u.User.Password(); ok {
			return "", errors.New("a password in the URL would be recorded in the image")
		}
	}
	return raw, nil
}

// versionSpecs reads "op version, op version" or the same in parentheses.
func (p *reqParser) versionSpecs() ([]versionSpec, error) {
	paren := p.peek("(")
	if paren {
		p.i++
	}
	var out []versionSpec
	for {
		p.space()
		op := ""
		for _, o := range versionOps {
			if p.peek(o) {
				op = o
				break
			}
		}
		if op == "" {
			if p.eof() || p.peek(")") || p.peek(";") {
				if len(out) == 0 {
					return nil, errors.New("missing version specifier")
				}
				return nil, errors.New(`missing version specifier after ","`)
			}
			end := p.i + 1
			for end < len(p.s) && strings.IndexByte("<>=!~", p.s[end]) >= 0 {
				end++
			}
			return nil, fmt.Errorf("invalid operator %q: want one of %s", p.s[p.i:end], strings.Join(versionOps, " "))
		}
		p.i += len(op)
		p.space()
		var v string
		if op == "===" {
			v = p.take(func(b byte) bool { return !isSpace(b) && b != ',' && b != ';' && b != ')' })
		} else {
			v = p.take(isVersionChar)
		}
		if err := checkVersion(op, v); err != nil {
			return nil, err
		}
		out = append(out, versionSpec{Op: op, Version: v})
		p.space()
		if !p.peek(",") {
			break
		}
		p.i++
	}
	if paren {
		if !p.peek(")") {
			return nil, errors.New(`version specifiers: missing ")"`)
		}
		p.i++
	}
	return out, nil
}

// checkVersion checks a PEP 440 version against what op allows: ".*" and
// local labels only with == and !=, two release parts for ~=.
func checkVersion(op, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("missing version after %q", op)
	case op == "===":
		return nil // arbitrary equality: any string
	case strings.HasSuffix(v, ".*") && op != "==" && op != "!=":
		return fmt.Errorf(`invalid version %q for %q: ".*" only goes with == and !=`, v, op)
	case strings.HasSuffix(v, ".*"):
		if !pep440PrefixRE().MatchString(v) {
			return fmt.Errorf(`invalid version %q for %q: only a release like 1.2 comes before ".*"`, v, op)
		}
		return nil
	case strings.Contains(v, "+") && op != "==" && op != "!=":
		return fmt.Errorf("invalid version %q for %q: a local version (+…) only goes with == and !=", v, op)
	case op == "~=" && pep440PublicRE().MatchString(v) && !pep440TwoPartRE().MatchString(v):
		return fmt.Errorf("invalid version %q for %q: ~= needs at least two release parts, e.g. ~=1.4", v, op)
	case !pep440RE().MatchString(v):
		return fmt.Errorf("invalid version %q for %q (PEP 440: e.g. 1.2, 2.0rc1, 1.0.post1, 1!2.0)", v, op)
	}
	return nil
}

// checkMarker checks an environment marker for being non-empty, with
// closed quotes and balanced parentheses. It returns the trimmed marker.
func checkMarker(m string) (string, error) {
	m = strings.TrimSpace(m)
	if m == "" {
		return m, errors.New(`empty environment marker after ";"`)
	}
	depth := 0
	var quote byte
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return m, fmt.Errorf("environment marker %q: unbalanced parentheses", m)
			}
		}
	}
	switch {
	case quote != 0:
		return m, fmt.Errorf("environment marker %q: unclosed quote", m)
	case depth != 0:
		return m, fmt.Errorf("environment marker %q: unbalanced parentheses", m)
	}
	return m, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }

func isNameChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '-'
}

// isVersionChar is PEP 508's version character class.
func isVersionChar(b byte) bool { return isNameChar(b) || b == '*' || b == '+' || b == '!' }
