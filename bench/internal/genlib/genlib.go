package genlib

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/imgctl/imgctl/schemas"
)

// RootName is the library's one image on an external base.
const RootName = "debian"

// RootFrom is the root's default external base, given by digest. No
// registry serves it: a library on it loads and validates, but plan, which
// reads every external base's manifest and platforms, needs
// Options.RootFrom naming a base that is served.
const RootFrom = "debian@" + RootDigest

// RootDigest is the (made-up, fixed) digest of the external base.
const RootDigest = "sha256:af16611309c1a6d6f257c6d99fc759948f9345a9b7000f1b235dc0d44d8a320d"

// PackageName is the CUE package of every generated file.
const PackageName = "images"

// Options say what library to write.
type Options struct {
	// Images is the total number of images, at least 3: one root, about
	// Images/50 families (at least one), teams for the rest.
	Images int
	// Registry is the library's registry, host[:port]/prefix.
	Registry string
	// Seed drives every choice of field values; equal Options give
	// byte-identical files.
	Seed uint64
	// ImportSchema makes library.cue import imgctl.dev/schema and constrain
	// registry, policy and images with it (the layout docs/spec.md
	// recommends), with the schema vendored under cue.mod/pkg, so that plain
	// `cue vet` checks what imgctl checks for types and unknown fields.
	ImportSchema bool
	// PinEvery pins every PinEvery-th team to version PinVersion of its
	// family ("python3-1@2026.11.01"); 0 pins none.
	PinEvery int
	// PinVersion is the version pinned teams use.
	PinVersion string
	// RootFrom is the root's external base, by digest (REPO@sha256:…), for
	// example the one bench/internal/seed.Upstream pushed. The default is
	// RootFrom, a made-up digest of debian no registry serves: enough to
	// load and validate, not to plan, since plan reads its external bases.
	RootFrom string
	// Presets adds size presets (small, medium, large, gpu) and node pools
	// to the library, makes every family a Jupyter image (server), and
	// gives every third team its own sizes. It draws nothing from Seed's
	// sequence: the other fields are as without it.
	Presets bool
}

// Shape is how many images of each kind a library has.
type Shape struct {
	Families int
	Teams    int
}

// ShapeOf returns the shape of a library of n images (n >= 3).
func ShapeOf(n int) Shape {
	f := max(1, (n+25)/50)
	return Shape{Families: f, Teams: n - 1 - f}
}

// Write writes the library into dir, which must not exist or be empty.
func Write(dir string, o Options) error {
	if o.Images < 3 {
		return fmt.Errorf("generating library: %d images: want at least 3", o.Images)
	}
	if o.Registry == "" {
		return errors.New("generating library: registry is empty")
	}
	if o.PinEvery > 0 && o.PinVersion == "" {
		return errors.New("generating library: PinEvery needs PinVersion")
	}
	if o.RootFrom == "" {
		o.RootFrom = RootFrom
	} else if _, d, ok := strings.Cut(o.RootFrom, "@"); !ok || !strings.HasPrefix(d, "sha256:") {
		return fmt.Errorf("generating library: root base %q is not given by digest", o.RootFrom)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("generating library: %w", err)
	}
	if ents, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("generating library: %w", err)
	} else if len(ents) > 0 {
		return fmt.Errorf("generating library: %s is not empty", dir)
	}
	g := &gen{rng: rand.New(rand.NewPCG(o.Seed, uint64(o.Images))), o: o}
	files := map[string]string{"library.cue": g.library()}
	files[RootName+".cue"] = g.root()
	sh := ShapeOf(o.Images)
	fams := make([]family, sh.Families)
	perLang := map[string]int{}
	for i := range fams {
		l := languages[i%len(languages)]
		perLang[l.name]++
		fams[i] = family{name: fmt.Sprintf("%s-%d", l.name, perLang[l.name]), lang: l}
		files[fams[i].name+".cue"] = g.family(fams[i])
	}
	for i := range sh.Teams {
		t := teamWords[i%len(teamWords)]
		name := fmt.Sprintf("%s-%04d", t, i+1)
		pin := o.PinEvery > 0 && (i+1)%o.PinEvery == 0
		files[name+".cue"] = g.team(name, t, fams[g.rng.IntN(len(fams))], pin, o.Presets && i%3 == 0)
	}
	if o.ImportSchema {
		if err := vendorSchema(files); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("generating library: %w", err)
		}
		if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
			return fmt.Errorf("generating library: %w", err)
		}
	}
	return nil
}

// vendorSchema adds cue.mod with the embedded schema under cue.mod/pkg, the
// path imgctl's loader overlays with the same bytes.
func vendorSchema(files map[string]string) error {
	files["cue.mod/module.cue"] = "module: \"bench.imgctl.local/specs\"\nlanguage: version: \"v0.9.0\"\n"
	return fs.WalkDir(schemas.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".cue" {
			return err
		}
		b, err := schemas.FS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading embedded schema: %w", err)
		}
		files[path.Join("cue.mod/pkg", schemas.ImportPath, p)] = string(b)
		return nil
	})
}

type gen struct {
	rng *rand.Rand
	o   Options
}

type language struct {
	name    string
	apt     []string // the family's own packages
	extra   []string // pool teams pick from
	version string   // moving tag of the family
	cmd     []string
	env     [][2]string
	// pip or r: how teams add language packages.
	pip, r []string
}

type family struct {
	name string
	lang language
}

var languages = []language{
	{name: "python3", apt: []string{"python3", "python3-pip", "python3-venv", "python3-numpy", "python3-pandas"},
		extra:   []string{"python3-sklearn", "python3-scipy", "python3-matplotlib", "python3-statsmodels", "python3-seaborn", "python3-sqlalchemy", "python3-psycopg2", "python3-requests", "python3-yaml", "python3-h5py", "jupyter-notebook", "python3-nltk", "python3-skimage", "python3-networkx"},
		version: "3.11", cmd: []string{"python3"}, env: [][2]string{{"PYTHONUNBUFFERED", "1"}, {"PIP_NO_CACHE_DIR", "1"}},
		pip: []string{"xgboost==2.0.3", "lightgbm==4.3.0", "polars==0.20.10", "pyarrow==15.0.0", "mlflow==2.10.2", "optuna==3.5.0", "shap==0.44.1", "great-expectations==0.18.8", "dbt-core==1.7.8", "prophet==1.1.5"}},
	{name: "r", apt: []string{"r-base-core", "r-base-dev", "r-recommended"},
		extra:   []string{"r-cran-ggplot2", "r-cran-dplyr", "r-cran-data.table", "r-cran-tidyr", "r-cran-readr", "r-cran-lme4", "r-cran-survival", "r-cran-caret", "r-cran-shiny", "r-cran-rmarkdown", "r-cran-xgboost", "libxml2-dev", "libcurl4-openssl-dev"},
		version: "4.2", cmd: []string{"R", "--no-save"}, env: [][2]string{{"R_LIBS_SITE", "/usr/local/lib/R/site-library"}, {"TZ", "UTC"}},
		r: []string{"arrow", "brms", "forecast", "glmnet", "janitor", "lubridate", "plumber", "ranger", "sf", "tidymodels"}},
	{name: "julia", apt: []string{"julia", "libopenblas0", "ca-certificates"},
		extra:   []string{"hdf5-tools", "libnetcdf19", "gnuplot-nox", "libgfortran5", "liblapack3", "git", "curl"},
		version: "1.8", cmd: []string{"julia"}, env: [][2]string{{"JULIA_DEPOT_PATH", "/opt/julia"}, {"JULIA_NUM_THREADS", "auto"}}},
	{name: "jvm", apt: []string{"openjdk-17-jre-headless", "ca-certificates-java"},
		extra:   []string{"maven", "gradle", "scala", "libsnappy-java", "liblz4-java", "libzstd-jni-java", "procps", "curl"},
		version: "17", cmd: []string{"java", "-version"}, env: [][2]string{{"JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"}, {"SPARK_HOME", "/opt/spark"}}},
	{name: "node", apt: []string{"nodejs", "npm"},
		extra:   []string{"node-typescript", "yarnpkg", "git", "build-essential", "python3", "chromium", "fonts-liberation"},
		version: "18", cmd: []string{"node"}, env: [][2]string{{"NODE_ENV", "production"}, {"NPM_CONFIG_UPDATE_NOTIFIER", "false"}}},
}

var teamWords = []string{
	"marketing", "credit-risk", "research", "fraud", "forecasting", "pricing", "genomics", "nlp",
	"vision", "supply-chain", "churn", "recsys", "actuarial", "ads", "search", "clinical",
}

var (
	// envVars are name and value; %s is the team.
	envVars = [][2]string{
		{"MODEL_DIR", "/opt/models/%s"}, {"DATA_DIR", "/opt/data/%s"}, {"MLFLOW_TRACKING_URI", "https://mlflow.internal.example/%s"},
		{"FEATURE_STORE", "feast://features.internal.example/%s"}, {"WAREHOUSE_DSN", "postgres://warehouse.internal.example/%s"},
		{"OMP_NUM_THREADS", "4"}, {"SPARK_MASTER", "spark://spark-%s.internal.example:7077"}, {"CACHE_DIR", "/var/cache/%s"},
		{"LOG_LEVEL", "info"}, {"S3_ENDPOINT", "https://s3.internal.example"},
	}
	labelNames = []string{"org.example.cost-center", "org.example.owner", "org.example.tier", "org.example.data-class", "org.example.oncall"}
	runSteps   = []string{
		"mkdir -p /opt/models /opt/data && chown 1000:1000 /opt/models /opt/data",
		"ln -sf /usr/share/zoneinfo/UTC /etc/localtime",
		"useradd --uid 1001 --create-home svc || true",
		"printf '[global]\\ntimeout = 60\\n' > /etc/pip.conf",
		"update-ca-certificates",
		"rm -rf /var/lib/apt/lists/* /tmp/*",
		"echo 'umask 002' >> /etc/profile",
	}
)

func (g *gen) library() string {
	var b strings.Builder
	b.WriteString("// Synthetic library written by bench/cmd/genlib: one external root,\n")
	b.WriteString("// language families on it, team environments on the families.\n")
	fmt.Fprintf(&b, "package %s\n\n", PackageName)
	if g.o.ImportSchema {
		// The form docs/spec.md recommends: embedding schema.#Library does
		// not close the images in CUE v0.17, these constraints do.
		fmt.Fprintf(&b, "import %q\n\n", schemas.ImportPath)
		b.WriteString("registry: schema.#Registry\npolicy:   schema.#Policy\nimages: [string]: schema.#Image\n")
		if g.o.Presets {
			b.WriteString("sizes: [string]:  schema.#Size\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "registry: %s\n\n", strconv.Quote(g.o.Registry))
	if g.o.Presets {
		b.WriteString(`policy: {
	graceDays:     30
	deprecatedTag: true
	nodePools: {
		standard: {cpu: 16, memory: "64Gi"}
		gpu: {cpu: 32, memory: "192Gi", gpu: {count: 4}}
	}
}

sizes: {
	small: {cpu: 1, memory: "4Gi", description: "Notebooks and light analysis"}
	medium: {cpu: 2, memory: "8Gi", description: "Most analysis"}
	large: {cpu: 8, memory: "32Gi", description: "Model training on CPU"}
	gpu: {cpu: 8, memory: "48Gi", gpu: {count: 1}, description: "Deep learning on one GPU"}
}

`)
	} else {
		b.WriteString("policy: {\n\tgraceDays:     30\n\tdeprecatedTag: true\n}\n\n")
	}
	b.WriteString(`// _team is the common shape of a team environment.
_team: {
	team: string
	labels: "org.example.team": team
	user:    "1000:1000"
	workdir: "/home/ds"
	env: HOME: "/home/ds"
}
`)
	return b.String()
}

func (g *gen) root() string {
	w := newImage(RootName, "")
	w.str("description", "Debian 12 (bookworm) base every image of the library is built on")
	w.str("from", g.o.RootFrom)
	w.strMap("env", [][2]string{{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, {"LANG", "C.UTF-8"}, {"DEBIAN_FRONTEND", "noninteractive"}})
	w.list("apt", []string{"ca-certificates", "curl", "locales", "tzdata", "procps", "less"})
	w.list("run", []string{"mkdir -p /home/ds && chown 1000:1000 /home/ds", "sed -i 's/^# *en_US.UTF-8/en_US.UTF-8/' /etc/locale.gen && locale-gen"})
	w.strMap("labels", [][2]string{{"org.opencontainers.image.vendor", "Example Data Science Platform"}, {"org.example.tier", "base"}})
	w.list("cmd", []string{"/bin/bash"})
	w.list("tags", []string{"bookworm", "12"})
	return w.done()
}

func (g *gen) family(f family) string {
	w := newImage(f.name, "")
	w.str("description", fmt.Sprintf("%s family base %s: the language runtime and its common libraries from Debian", f.lang.name, f.name))
	w.str("parent", RootName)
	w.str("family", f.lang.name)
	w.list("apt", append(append([]string{}, f.lang.apt...), g.pick(f.lang.extra, 1, 3)...))
	w.strMap("env", f.lang.env)
	w.strMap("labels", [][2]string{{"org.example.family", f.lang.name}, {"org.example.tier", "family"}})
	w.list("cmd", f.lang.cmd)
	w.list("tags", []string{f.lang.version})
	if g.o.Presets {
		w.str("server", "jupyter")
	}
	return w.done()
}

func (g *gen) team(name, team string, f family, pin, sizes bool) string {
	w := newImage(name, "_team & ")
	w.str("description", fmt.Sprintf("%s environment %s on %s: %s", team, name, f.name, strings.Join(g.pick(f.lang.extra, 2, 2), " and ")))
	parent := f.name
	if pin {
		parent += "@" + g.o.PinVersion
	}
	w.str("parent", parent)
	w.str("family", f.lang.name)
	w.str("team", team)
	w.list("apt", g.pick(f.lang.extra, 2, 6))
	switch {
	case len(f.lang.pip) > 0:
		w.open("pip")
		w.list("packages", g.pick(f.lang.pip, 1, 5))
		w.str("index", "https://pypi.internal.example/simple")
		w.close()
	case len(f.lang.r) > 0:
		w.open("r")
		w.list("packages", g.pick(f.lang.r, 1, 5))
		w.str("repo", "https://cran.internal.example")
		w.close()
	}
	var env [][2]string
	for _, i := range g.pickIndex(len(envVars), 2, 3) {
		v := envVars[i][1]
		if strings.Contains(v, "%s") {
			v = fmt.Sprintf(v, team)
		}
		env = append(env, [2]string{envVars[i][0], v})
	}
	w.strMap("env", env)
	var labels [][2]string
	for _, k := range g.pick(labelNames, 1, 3) {
		labels = append(labels, [2]string{k, fmt.Sprintf("%s-%d", team, g.rng.IntN(1000))})
	}
	w.strMap("labels", labels)
	w.list("run", g.pick(runSteps, 1, 3))
	if g.rng.IntN(4) == 0 {
		w.ints("ports", []int{8000 + g.rng.IntN(1000)})
	}
	if sizes {
		w.list("sizes", []string{"medium", "small"})
	}
	return w.done()
}

// pick returns between lo and lo+spread distinct elements of pool, in pool order.
func (g *gen) pick(pool []string, lo, spread int) []string {
	idx := g.pickIndex(len(pool), lo, spread)
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = pool[j]
	}
	return out
}

// pickIndex returns between lo and lo+spread distinct indexes below n, sorted.
func (g *gen) pickIndex(n, lo, spread int) []int {
	k := min(n, lo+g.rng.IntN(spread+1))
	idx := g.rng.Perm(n)[:k]
	sort.Ints(idx)
	return idx
}

// imageWriter renders one image file.
type imageWriter struct {
	b      strings.Builder
	indent string
}

func newImage(name, embed string) *imageWriter {
	w := &imageWriter{indent: "\t"}
	fmt.Fprintf(&w.b, "package %s\n\nimages: %s: %s{\n", PackageName, strconv.Quote(name), embed)
	return w
}

func (w *imageWriter) str(k, v string) {
	fmt.Fprintf(&w.b, "%s%s: %s\n", w.indent, k, strconv.Quote(v))
}

func (w *imageWriter) list(k string, vs []string) {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	fmt.Fprintf(&w.b, "%s%s: [%s]\n", w.indent, k, strings.Join(q, ", "))
}

func (w *imageWriter) ints(k string, vs []int) {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Itoa(v)
	}
	fmt.Fprintf(&w.b, "%s%s: [%s]\n", w.indent, k, strings.Join(q, ", "))
}

func (w *imageWriter) strMap(k string, kvs [][2]string) {
	w.open(k)
	for _, kv := range kvs {
		w.str(strconv.Quote(kv[0]), kv[1])
	}
	w.close()
}

func (w *imageWriter) open(k string) {
	fmt.Fprintf(&w.b, "%s%s: {\n", w.indent, k)
	w.indent += "\t"
}

func (w *imageWriter) close() {
	w.indent = w.indent[:len(w.indent)-1]
	fmt.Fprintf(&w.b, "%s}\n", w.indent)
}

func (w *imageWriter) done() string {
	w.b.WriteString("}\n")
	return w.b.String()
}

// MovingTags returns the moving tags of an image file Write wrote: latest,
// then the tags its "tags" field declares, in file order. It reads the one
// line Write renders the field as, without evaluating CUE, so that a peer
// of imgctl plan knows which tags to read.
func MovingTags(src []byte) ([]string, error) {
	tags := []string{"latest"}
	for line := range strings.Lines(string(src)) {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "\ttags: [")
		if !ok {
			continue
		}
		rest, ok = strings.CutSuffix(rest, "]")
		if !ok {
			return nil, fmt.Errorf("reading moving tags: unterminated list in %q", line)
		}
		for q := range strings.SplitSeq(rest, ", ") {
			t, err := strconv.Unquote(q)
			if err != nil {
				return nil, fmt.Errorf("reading moving tags: %s in %q", err, line)
			}
			tags = append(tags, t)
		}
	}
	return tags, nil
}
