package launcher

import (
	"fmt"
	"io"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/imgctl/imgctl/pkg/spec"
)

// WriteKubeflow writes a Kubeflow Notebooks spawner_ui_config.yaml: every
// offered version of every image, by digest, as an option of the list its
// server belongs in: spawnerFormDefaults.image (Jupyter), imageGroupOne
// (VS Code) and imageGroupTwo (RStudio). Each list's value is its first
// image's latest (the default image's, for the Jupyter list). Custom
// images are off; cpu, memory and gpus come from the default image's
// default preset (Kubeflow has one default, not a list of presets).
func (l *Launchers) WriteKubeflow(w io.Writer) error {
	groups := map[string]*ordered{}
	var def *Size
	for _, server := range []string{spec.ServerJupyter, spec.ServerVSCode, spec.ServerRStudio} {
		var options []string
		value := ""
		for _, im := range l.Images {
			if im.Server != server {
				continue
			}
			for _, v := range im.Versions {
				options = append(options, v.Image)
			}
			if value == "" || im.Default {
				value = im.Versions[0].Image
			}
			if im.Default && len(im.Sizes) > 0 {
				def = l.Size(im.Sizes[0])
			}
		}
		if options == nil {
			options = []string{}
		}
		var o ordered
		o.set("value", value)
		o.set("options", options)
		groups[server] = &o
	}
	var form ordered
	form.set("image", *groups[spec.ServerJupyter])
	form.set("imageGroupOne", *groups[spec.ServerVSCode])
	form.set("imageGroupTwo", *groups[spec.ServerRStudio])
	form.set("allowCustomImage", false)
	var pull ordered
	pull.set("value", "IfNotPresent")
	pull.set("readOnly", true)
	form.set("imagePullPolicy", pull)
	if def != nil {
		var cpu, mem ordered
		cpu.set("value", fmt.Sprintf("%g", def.CPU))
		cpu.set("limitFactor", "1.0")
		cpu.set("readOnly", false)
		mem.set("value", def.Memory)
		mem.set("limitFactor", "1.0")
		mem.set("readOnly", false)
		form.set("cpu", cpu)
		form.set("memory", mem)
	}
	resources := map[string]bool{}
	for _, s := range l.Sizes {
		if s.GPU != nil {
			resources[s.GPU.Resource] = true
		}
	}
	var vendors []ordered
	var keys []string
	for r := range resources {
		keys = append(keys, r)
	}
	sort.Strings(keys)
	for _, r := range keys {
		var v ordered
		v.set("limitsKey", r)
		v.set("uiName", vendorName(r))
		vendors = append(vendors, v)
	}
	if vendors == nil {
		vendors = []ordered{}
	}
	var gv ordered
	gv.set("vendors", vendors)
	gv.set("vendor", "")
	gv.set("num", "none")
	var gpus ordered
	gpus.set("readOnly", false)
	gpus.set("value", gv)
	form.set("gpus", gpus)
	var root ordered
	root.set("spawnerFormDefaults", form)
	fmt.Fprintf(w, "# Kubeflow Notebooks spawner_ui_config.yaml for %s, written by imgctl launcher kubeflow\n# on %s from what the registry holds: every image by digest, latest first.\n", l.Registry, l.Day)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

func vendorName(resource string) string {
	switch {
	case strings.HasPrefix(resource, "nvidia.com/"):
		return "NVIDIA"
	case strings.HasPrefix(resource, "amd.com/"):
		return "AMD"
	}
	return resource
}
