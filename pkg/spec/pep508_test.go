package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseRequirement takes its cases from PEP 508's own test list and the
// style of pip's and packaging's requirement tests.
func TestParseRequirement(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want requirement
		err  string // a substring of the error; "" for a valid requirement
	}{
		// Valid: PEP 508's examples.
		{in: "A", want: requirement{Name: "A"}},
		{in: "A.B-C_D", want: requirement{Name: "A.B-C_D"}},
		{in: "aa", want: requirement{Name: "aa"}},
		{in: "name", want: requirement{Name: "name"}},
		{in: "name<=1", want: requirement{Name: "name", Specifiers: []versionSpec{{"<=", "1"}}}},
		{in: "name>=3", want: requirement{Name: "name", Specifiers: []versionSpec{{">=", "3"}}}},
		{in: "name>=3,<2", want: requirement{Name: "name", Specifiers: []versionSpec{{">=", "3"}, {"<", "2"}}}},
		{in: "name@http://foo.com", want: requirement{Name: "name", URL: "http://foo.com"}},
		{in: "name [fred,bar] @ http://foo.com ; python_version=='2.7'", want: requirement{Name: "name", Extras: []string{"fred", "bar"}, URL: "http://foo.com", Marker: "python_version=='2.7'"}},
		{in: "name[quux, strange];python_version<'2.7' and platform_version=='2'", want: requirement{Name: "name", Extras: []string{"quux", "strange"}, Marker: "python_version<'2.7' and platform_version=='2'"}},
		{in: "name; os_name=='a' or os_name=='b'", want: requirement{Name: "name", Marker: "os_name=='a' or os_name=='b'"}},
		{in: "name; os_name=='a' and (os_name=='b' or os_name=='c')", want: requirement{Name: "name", Marker: "os_name=='a' and (os_name=='b' or os_name=='c')"}},
		// Valid: the forms specs use.
		{in: "numpy>=1.2,<2", want: requirement{Name: "numpy", Specifiers: []versionSpec{{">=", "1.2"}, {"<", "2"}}}},
		{in: "requests[security]>=2.8.1,==2.8.*", want: requirement{Name: "requests", Extras: []string{"security"}, Specifiers: []versionSpec{{">=", "2.8.1"}, {"==", "2.8.*"}}}},
		{in: "name @ https://x/y.whl", want: requirement{Name: "name", URL: "https://x/y.whl"}},
		{in: `foo ; python_version<"3.8"`, want: requirement{Name: "foo", Marker: `python_version<"3.8"`}},
		{in: "pkg===1.0", want: requirement{Name: "pkg", Specifiers: []versionSpec{{"===", "1.0"}}}},
		{in: "pkg===foobar", want: requirement{Name: "pkg", Specifiers: []versionSpec{{"===", "foobar"}}}},
		{in: "Foo.Bar_baz-1", want: requirement{Name: "Foo.Bar_baz-1"}},
		{in: "  pandas == 2.1.4  ", want: requirement{Name: "pandas", Specifiers: []versionSpec{{"==", "2.1.4"}}}},
		{in: "name (>=1.0, <2)", want: requirement{Name: "name", Specifiers: []versionSpec{{">=", "1.0"}, {"<", "2"}}}},
		{in: "torch==2.1.0+cu121", want: requirement{Name: "torch", Specifiers: []versionSpec{{"==", "2.1.0+cu121"}}}},
		{in: "pandas~=2.1", want: requirement{Name: "pandas", Specifiers: []versionSpec{{"~=", "2.1"}}}},
		{in: "django>=4.2rc1,!=4.2.1,<5.0.dev0", want: requirement{Name: "django", Specifiers: []versionSpec{{">=", "4.2rc1"}, {"!=", "4.2.1"}, {"<", "5.0.dev0"}}}},
		{in: "black==23.1.0.post1", want: requirement{Name: "black", Specifiers: []versionSpec{{"==", "23.1.0.post1"}}}},
		{in: "x==1!2.0", want: requirement{Name: "x", Specifiers: []versionSpec{{"==", "1!2.0"}}}},
		{in: "x!=1.*", want: requirement{Name: "x", Specifiers: []versionSpec{{"!=", "1.*"}}}},
		{in: "x[]", want: requirement{Name: "x"}},
		{in: "pkg @ git+ssh://git@github.com/o/pkg.git", want: requirement{Name: "pkg", URL: "git+ssh://git@github.com/o/pkg.git"}},

		// Invalid.
		{in: "pandas==", err: `missing version after "=="`},
		{in: "", err: "empty requirement"},
		{in: " ", err: "empty requirement"},
		{in: "a b", err: `unexpected "b" after "a": give one requirement per entry`},
		{in: "-e .", err: errPipOption.Error()},
		{in: "--index-url x", err: errPipOption.Error()},
		{in: "-r requirements.txt", err: errPipOption.Error()},
		{in: "name>=3,", err: `missing version specifier after ","`},
		{in: "numpy>=1.*", err: `".*" only goes with == and !=`},
		{in: "x==1.0a1.*", err: `only a release like 1.2 comes before ".*"`},
		{in: "x~=1", err: "~= needs at least two release parts"},
		{in: "x>=1.0+local", err: "a local version (+…) only goes with == and !="},
		{in: "x==1.0.foo", err: `invalid version "1.0.foo" for "=="`},
		{in: "x==latest", err: `invalid version "latest"`},
		{in: "name=1", err: `invalid operator "="`},
		{in: "name=>1", err: `invalid operator "=>"`},
		{in: "foo-", err: `invalid name "foo-"`},
		{in: "_foo", err: `invalid name "_foo"`},
		{in: "name[bar", err: `extras: missing "]"`},
		{in: "name[", err: `extras: missing "]"`},
		{in: "name[b@r]", err: `extras: unexpected "@r]"`},
		{in: "name[-x]", err: `invalid extra "-x"`},
		{in: "name @", err: `missing URL after "@"`},
		{in: "name @ x/y.whl", err: `URL "x/y.whl" has no scheme`},
		{in: "name @ https://user:pw@x/y.whl", err: "credentials in the URL"},
		{in: "name>=1 @ https://x/y.whl", err: "takes no version specifier"},
		{in: "name @ https://x/y.whl >=1", err: "takes no version specifier"},
		{in: "name (>=1.0", err: `missing ")"`},
		{in: "name ()", err: "missing version specifier"},
		{in: "foo ;", err: `empty environment marker after ";"`},
		{in: "foo; (python_version<'3'", err: "unbalanced parentheses"},
		{in: "foo; python_version<'3')", err: "unbalanced parentheses"},
		{in: `foo; python_version<"3`, err: "unclosed quote"},
		{in: "https://x/y.whl", err: `write a URL or path as "name @ URL"`},
		{in: "./local/pkg", err: `write a URL or path as "name @ URL"`},
		{in: "x==1.0 extra", err: `unexpected "extra" after "x==1.0"`},
		{in: "[x]", err: `not "["`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseRequirement(tc.in)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			if tc.want.Extras == nil && got.Extras != nil {
				tc.want.Extras = []string{}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCheckRequirement(t *testing.T) {
	assert.NoError(t, checkRequirement("pandas>=2"))
	assert.EqualError(t, checkRequirement("pandas=="), `"pandas==" is not a PEP 508 requirement: missing version after "=="`)
	assert.EqualError(t, checkRequirement("--index-url https://x/simple"), `"--index-url https://x/simple": pip options are not package requirements; use pip.index`)
}
