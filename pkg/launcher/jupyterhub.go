package launcher

import (
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"

	"github.com/imgctl/imgctl/pkg/spec"
)

// ordered is a YAML mapping that keeps its keys' order (KubeSpawner shows
// choices in the order of its dictionaries).
type ordered []struct {
	key   string
	value any
}

func (o *ordered) set(k string, v any) {
	*o = append(*o, struct {
		key   string
		value any
	}{k, v})
}

func (o ordered) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range o {
		var v yaml.Node
		if err := v.Encode(kv.value); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kv.key}, &v)
	}
	return n, nil
}

// ByteSpec is KubeSpawner's byte form of b: an integer with a K, M, G or
// T suffix, 1024-based, the largest unit that divides b exactly (else K,
// rounded up).
func ByteSpec(b int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if b >= u.n && b%u.n == 0 {
			return fmt.Sprintf("%d%s", b/u.n, u.s)
		}
	}
	return fmt.Sprintf("%dK", (b+1023)/1024)
}

// sizeOverride is what a size choice sets in KubeSpawner.
func sizeOverride(s *Size) ordered {
	var o ordered
	o.set("cpu_limit", s.CPU)
	o.set("cpu_guarantee", s.CPU)
	o.set("mem_limit", ByteSpec(s.MemoryBytes))
	o.set("mem_guarantee", ByteSpec(s.MemoryBytes))
	if s.GPU != nil {
		var g ordered
		g.set(s.GPU.Resource, fmt.Sprint(s.GPU.Count))
		o.set("extra_resource_limits", g)
	}
	return o
}

// SizeLabel names a preset for a person: "medium: 2 CPU, 8Gi — Most analysis".
func SizeLabel(s *Size) string {
	l := fmt.Sprintf("%s: %g CPU, %s", s.Name, s.CPU, s.Memory)
	if s.GPU != nil {
		l += fmt.Sprintf(", %d GPU", s.GPU.Count)
	}
	if s.Description != "" {
		l += " — " + s.Description
	}
	return l
}

// WriteJupyterHub writes Helm values for zero-to-jupyterhub:
// singleuser.profileList in KubeSpawner's format, one profile per Jupyter
// image (KubeSpawner starts jupyterhub-singleuser in it), with
// profile_options for size and version.
func (l *Launchers) WriteJupyterHub(w io.Writer) error {
	var profiles []ordered
	for _, im := range l.Images {
		if im.Server != spec.ServerJupyter {
			continue
		}
		var p ordered
		p.set("display_name", im.Name)
		desc := im.Description
		if desc == "" {
			desc = im.Name
		}
		p.set("description", desc)
		p.set("slug", im.Name)
		if im.Default {
			p.set("default", true)
		}
		var over ordered
		over.set("image", im.Versions[0].Image)
		p.set("kubespawner_override", over)
		var opts ordered
		if len(im.Sizes) > 0 {
			var choices ordered
			for i, n := range im.Sizes {
				s := l.Size(n)
				var c ordered
				c.set("display_name", SizeLabel(s))
				if i == 0 {
					c.set("default", true)
				}
				c.set("kubespawner_override", sizeOverride(s))
				choices.set(n, c)
			}
			var size ordered
			size.set("display_name", "Size")
			size.set("choices", choices)
			opts.set("size", size)
		}
		var vchoices ordered
		for i, v := range im.Versions {
			var c ordered
			c.set("display_name", v.Label)
			if i == 0 {
				c.set("default", true)
			}
			var o ordered
			o.set("image", v.Image)
			c.set("kubespawner_override", o)
			key := v.Version
			if v.Latest {
				key = "latest"
			}
			vchoices.set(key, c)
		}
		var ver ordered
		ver.set("display_name", "Version")
		ver.set("choices", vchoices)
		opts.set("version", ver)
		p.set("profile_options", opts)
		profiles = append(profiles, p)
	}
	if profiles == nil {
		profiles = []ordered{}
	}
	var single ordered
	single.set("profileList", profiles)
	var root ordered
	root.set("singleuser", single)
	fmt.Fprintf(w, "# zero-to-jupyterhub values: the session profiles of %s, written by imgctl launcher jupyterhub\n# on %s from what the registry holds. Regenerate after each publish; helm upgrade ... -f this-file.\n", l.Registry, l.Day)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}
