package kubernetes_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/cmd/buildkitd/config"
	"github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// strict decodes one YAML object the way the API server's strict field
// validation does: field names match case-sensitively, and an unknown or
// duplicate field is an error.
func strict(doc []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	errs, err := kjson.UnmarshalStrict(j, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// objects are the manifests, parsed.
type objects struct {
	config      *corev1.ConfigMap
	service     *corev1.Service
	statefulSet *appsv1.StatefulSet
	pdb         *policyv1.PodDisruptionBudget
}

// kustomization is the part of kustomize's Kustomization this directory uses.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels"`
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	b, err := os.ReadFile("kustomization.yaml")
	require.NoError(t, err)
	var k kustomization
	require.NoError(t, strict(b, &k))
	return k
}

// parse decodes a multi-document YAML stream strictly (an unknown or
// misspelt field is an error) into the API types of the kinds it holds.
func parse(t *testing.T, stream []byte) objects {
	t.Helper()
	var o objects
	for _, doc := range bytes.Split(stream, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal(doc, &tm))
		var into any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			o.config = &corev1.ConfigMap{}
			into = o.config
		case "v1 Service":
			o.service = &corev1.Service{}
			into = o.service
		case "apps/v1 StatefulSet":
			o.statefulSet = &appsv1.StatefulSet{}
			into = o.statefulSet
		case "policy/v1 PodDisruptionBudget":
			o.pdb = &policyv1.PodDisruptionBudget{}
			into = o.pdb
		default:
			t.Fatalf("unexpected object %s %s", tm.APIVersion, tm.Kind)
		}
		require.NoError(t, strict(doc, into), "%s", tm.Kind)
	}
	require.NotNil(t, o.config, "ConfigMap")
	require.NotNil(t, o.service, "Service")
	require.NotNil(t, o.statefulSet, "StatefulSet")
	require.NotNil(t, o.pdb, "PodDisruptionBudget")
	return o
}

// TestStrictParsingCatchesMistakes: the parser the other tests rely on
// refuses a misspelt field.
func TestStrictParsingCatchesMistakes(t *testing.T) {
	b, err := os.ReadFile("service.yaml")
	require.NoError(t, err)
	require.NoError(t, strict(b, &corev1.Service{}))
	for _, c := range []struct{ old, new, err string }{
		{"clusterIP:", "clusterIp:", `unknown field "spec.clusterIp"`},
		{"targetPort:", "target:", `unknown field "spec.ports[0].target"`},
		{"  clusterIP: None", "  clusterIP: None\n  clusterIP: None", `key "clusterIP" already set`},
	} {
		bad := bytes.Replace(b, []byte(c.old), []byte(c.new), 1)
		assert.ErrorContains(t, strict(bad, &corev1.Service{}), c.err, c.new)
	}
}

// TestManifestFiles checks the files as they are, without kustomize.
func TestManifestFiles(t *testing.T) {
	k := readKustomization(t)
	assert.Equal(t, "kustomize.config.k8s.io/v1beta1", k.APIVersion)
	assert.Equal(t, "Kustomization", k.Kind)
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	var stream []byte
	for _, f := range files {
		if f == "kustomization.yaml" {
			continue
		}
		assert.Contains(t, k.Resources, f, "every manifest is a resource")
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		stream = append(append(stream, b...), "\n---\n"...)
	}
	assert.Len(t, k.Resources, len(files)-1, "every resource is a file")
	check(t, parse(t, stream), "")
}

// TestRenderedManifests renders the directory with kustomize (its Go
// library, what kubectl apply -k runs) and checks what would be applied.
func TestRenderedManifests(t *testing.T) {
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), ".")
	require.NoError(t, err)
	out, err := rm.AsYaml()
	require.NoError(t, err)
	o := parse(t, out)
	k := readKustomization(t)
	check(t, o, k.Namespace)
	for _, m := range []metav1.ObjectMeta{o.config.ObjectMeta, o.service.ObjectMeta, o.statefulSet.ObjectMeta, o.pdb.ObjectMeta} {
		assert.Equal(t, "imgctl", m.Labels["app.kubernetes.io/part-of"], m.Name)
	}
	assert.NotContains(t, o.statefulSet.Spec.Selector.MatchLabels, "app.kubernetes.io/part-of", "selectors are immutable: labels added later must stay out")
}

// check verifies that the objects fit together: names, labels, ports, the
// TLS secret and the rootless security context.
func check(t *testing.T, o objects, namespace string) {
	t.Helper()
	for _, m := range []metav1.ObjectMeta{o.config.ObjectMeta, o.service.ObjectMeta, o.statefulSet.ObjectMeta, o.pdb.ObjectMeta} {
		assert.Equal(t, namespace, m.Namespace, m.Name)
	}
	sts, svc := o.statefulSet, o.service
	pod := sts.Spec.Template

	// The headless Service gives every replica its DNS name.
	assert.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP, "headless")
	assert.Equal(t, svc.Name, sts.Spec.ServiceName)
	assert.Equal(t, sts.Spec.Selector.MatchLabels, svc.Spec.Selector)
	sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labelSet(pod.Labels)), "the StatefulSet selects its pods")
	pdbSel, err := metav1.LabelSelectorAsSelector(o.pdb.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, pdbSel.Matches(labelSet(pod.Labels)), "the budget covers the pods")
	require.NotNil(t, o.pdb.Spec.MaxUnavailable)
	assert.Equal(t, 1, o.pdb.Spec.MaxUnavailable.IntValue())
	require.NotNil(t, sts.Spec.Replicas)
	assert.Greater(t, int(*sts.Spec.Replicas), 1, "a pool")
	assert.Equal(t, appsv1.ParallelPodManagement, sts.Spec.PodManagementPolicy)

	require.Len(t, pod.Spec.Containers, 1)
	c := pod.Spec.Containers[0]
	assert.Regexp(t, `^moby/buildkit:v\d+\.\d+\.\d+-rootless$`, c.Image, "a pinned rootless image")

	// The Service's port reaches the daemon's mTLS listener.
	require.Len(t, svc.Spec.Ports, 1)
	sp := svc.Spec.Ports[0]
	require.Len(t, c.Ports, 1)
	assert.Equal(t, c.Ports[0].Name, sp.TargetPort.String())
	assert.Equal(t, c.Ports[0].ContainerPort, sp.Port)
	assert.Contains(t, c.Args, "tcp://0.0.0.0:"+strconv.Itoa(int(sp.Port)), "buildkitd listens on the Service's port")
	assert.Equal(t, corev1.ProtocolTCP, sp.Protocol)

	// mTLS: buildkitd's TLS files come from the daemon Secret, read-only.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	certs, ok := mounts["certs"]
	require.True(t, ok, "certs mounted")
	assert.True(t, certs.ReadOnly)
	for _, flag := range []string{"--tlscacert", "--tlscert", "--tlskey"} {
		i := slices.Index(c.Args, flag)
		require.GreaterOrEqual(t, i, 0, flag)
		require.Less(t, i+1, len(c.Args), flag)
		assert.True(t, strings.HasPrefix(c.Args[i+1], certs.MountPath+"/"), "%s %s is in the secret", flag, c.Args[i+1])
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	require.NotNil(t, vols["certs"].Secret, "certs is a Secret")
	assert.Equal(t, "buildkitd-daemon-certs", vols["certs"].Secret.SecretName)

	// Rootless, as BuildKit's docs/rootless.md requires.
	psc, sc := pod.Spec.SecurityContext, c.SecurityContext
	require.NotNil(t, psc)
	require.NotNil(t, sc)
	require.NotNil(t, psc.RunAsNonRoot)
	assert.True(t, *psc.RunAsNonRoot)
	require.NotNil(t, sc.RunAsUser)
	assert.Equal(t, int64(1000), *sc.RunAsUser, "the rootless image's user")
	assert.Nil(t, sc.Privileged, "never privileged")
	require.NotNil(t, sc.SeccompProfile)
	assert.Equal(t, corev1.SeccompProfileTypeUnconfined, sc.SeccompProfile.Type)
	require.NotNil(t, sc.AppArmorProfile)
	assert.Equal(t, corev1.AppArmorProfileTypeUnconfined, sc.AppArmorProfile.Type)
	// The secret's files are readable by that user through fsGroup.
	require.NotNil(t, psc.FSGroup)
	require.NotNil(t, vols["certs"].Secret.DefaultMode)
	assert.NotZero(t, *vols["certs"].Secret.DefaultMode&0o040, "group-readable: the files belong to root and the fsGroup")
	assert.Zero(t, *vols["certs"].Secret.DefaultMode&0o007, "not world-readable")

	// The cache is a volume of its own at the rootless state directory.
	cache, ok := mounts["cache"]
	require.True(t, ok)
	assert.Equal(t, "/home/user/.local/share/buildkit", cache.MountPath)
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "cache", sts.Spec.VolumeClaimTemplates[0].Name)
	size := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]

	// Requests size the pool (docs/scale.md).
	assert.False(t, c.Resources.Requests.Cpu().IsZero())
	assert.False(t, c.Resources.Requests.Memory().IsZero())
	assert.False(t, c.Resources.Limits.Memory().IsZero())
	require.NotNil(t, c.ReadinessProbe)
	require.NotNil(t, c.LivenessProbe)

	// buildkitd.toml: the config buildkitd reads, strictly, within the volume.
	cfgMount, ok := mounts["config"]
	require.True(t, ok)
	i := slices.Index(c.Args, "--config")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, cfgMount.MountPath+"/buildkitd.toml", c.Args[i+1])
	require.NotNil(t, vols["config"].ConfigMap)
	assert.Equal(t, o.config.Name, vols["config"].ConfigMap.Name)
	var cfg config.Config
	d := toml.NewDecoder(strings.NewReader(o.config.Data["buildkitd.toml"]))
	d.DisallowUnknownFields()
	require.NoError(t, d.Decode(&cfg))
	require.NotNil(t, cfg.Workers.OCI.NoProcessSandbox)
	assert.True(t, cfg.Workers.OCI.NoProcessSandbox, "rootless in a pod")
	require.NotNil(t, cfg.Workers.Containerd.Enabled)
	assert.False(t, *cfg.Workers.Containerd.Enabled)
	maxUsed := cfg.Workers.OCI.GCMaxUsedSpace.Bytes
	assert.Positive(t, maxUsed)
	assert.Less(t, maxUsed, size.Value(), "the cache's garbage collection keeps it within the volume")
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

// TestCertificates runs certs.sh and checks with Go's TLS stack, the one
// imgctl and buildkitd use, that the daemon certificate is valid for every
// replica's DNS name and that the client certificate is accepted for
// client authentication.
func TestCertificates(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not found")
	}
	dir := t.TempDir()
	out, err := exec.Command("./certs.sh", "ci", dir).CombinedOutput()
	require.NoError(t, err, string(out))
	load := func(p string) *x509.Certificate {
		b, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err)
		blk, _ := pem.Decode(b)
		require.NotNil(t, blk, p)
		c, err := x509.ParseCertificate(blk.Bytes)
		require.NoError(t, err)
		return c
	}
	pool := x509.NewCertPool()
	pool.AddCert(load("daemon/ca.pem"))
	daemon, client := load("daemon/cert.pem"), load("client/cert.pem")
	for _, host := range []string{"buildkitd-0.buildkitd.ci.svc", "buildkitd-11.buildkitd.ci.svc.cluster.local", "buildkitd.ci.svc", "127.0.0.1"} {
		_, err := daemon.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		assert.NoError(t, err, host)
	}
	_, err = daemon.Verify(x509.VerifyOptions{DNSName: "buildkitd-0.buildkitd.other.svc", Roots: pool})
	assert.Error(t, err, "another namespace's name")
	_, err = client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	_, err = client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	assert.Error(t, err, "the client certificate cannot serve")
	for _, who := range []string{"daemon", "client"} {
		_, err := tls.LoadX509KeyPair(filepath.Join(dir, who, "cert.pem"), filepath.Join(dir, who, "key.pem"))
		assert.NoError(t, err, who)
	}
}
