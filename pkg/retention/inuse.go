package retention

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Ref is one image an --in-use file names: by digest (Digest), by tag
// (Repository and Tag), or both (repo@sha256:…).
type Ref struct {
	Digest     string `json:"digest,omitempty"`
	Repository string `json:"repository,omitempty"`
	Tag        string `json:"tag,omitempty"`
	// Source says where it was named: "pods.json: pod team/nb-0",
	// "in-use.txt:3".
	Source string `json:"source"`
}

// The formats of an --in-use file (InUseFile.Format).
const (
	FormatPods     = "pods"
	FormatLauncher = "launcher"
	FormatLines    = "lines"
)

var (
	digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	pinnedRe = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._:/-]*@sha256:[0-9a-f]{64}`)
)

// ParseInUse reads the references of an --in-use file named file with
// content data: a Kubernetes pod list or pod (kubectl get pods -A -o json:
// every container's image and imageID), an imgctl launcher output (JSON or
// YAML: every repo@sha256:… in it), or plain lines, one digest or image
// reference per line (# starts a comment). Errors name the file, and the
// line for plain lines.
func ParseInUse(file string, data []byte) ([]Ref, InUseFile, error) {
	info := InUseFile{File: file}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		refs, format, err := parseJSON(file, data)
		info.Format, info.References = format, len(refs)
		return refs, info, err
	}
	refs, err := parseLines(file, data)
	if err == nil {
		info.Format, info.References = FormatLines, len(refs)
		return refs, info, nil
	}
	// Not plain lines: a launcher's YAML names its images by digest.
	if found := pinned(file, string(data)); len(found) > 0 {
		info.Format, info.References = FormatLauncher, len(found)
		return found, info, nil
	}
	return nil, info, err
}

// podList is what imgctl reads of a pod list or pod: a tiny local struct,
// so the binary links no Kubernetes API types.
type podList struct {
	Kind     string `json:"kind"`
	Items    []pod  `json:"items"`
	Metadata struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"metadata"`
	Spec   podSpec   `json:"spec"`
	Status podStatus `json:"status"`
}

type pod struct {
	Metadata struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"metadata"`
	Spec   podSpec   `json:"spec"`
	Status podStatus `json:"status"`
}

type container struct {
	Image string `json:"image"`
}

type podSpec struct {
	Containers          []container `json:"containers"`
	InitContainers      []container `json:"initContainers"`
	EphemeralContainers []container `json:"ephemeralContainers"`
}

type containerStatus struct {
	Image   string `json:"image"`
	ImageID string `json:"imageID"`
}

type podStatus struct {
	ContainerStatuses          []containerStatus `json:"containerStatuses"`
	InitContainerStatuses      []containerStatus `json:"initContainerStatuses"`
	EphemeralContainerStatuses []containerStatus `json:"ephemeralContainerStatuses"`
}

func parseJSON(file string, data []byte) ([]Ref, string, error) {
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := bytes.Count(data[:se.Offset], []byte("\n")) + 1
			return nil, "", fmt.Errorf("reading --in-use %s:%d: not valid JSON: %v", file, line, err)
		}
		return nil, "", fmt.Errorf("reading --in-use %s: not valid JSON: %v", file, err)
	}
	obj, _ := generic.(map[string]any)
	switch kind, _ := obj["kind"].(string); {
	case kind == "List" || kind == "PodList" || kind == "Pod":
		var pl podList
		if err := json.Unmarshal(data, &pl); err != nil {
			return nil, "", fmt.Errorf("reading --in-use %s: not a Kubernetes pod list: %v", file, err)
		}
		pods := pl.Items
		if kind == "Pod" {
			pods = []pod{{Metadata: pl.Metadata, Spec: pl.Spec, Status: pl.Status}}
		}
		var refs []Ref
		for _, p := range pods {
			src := fmt.Sprintf("%s: pod %s/%s", file, p.Metadata.Namespace, p.Metadata.Name)
			var images []string
			for _, cs := range [][]container{p.Spec.Containers, p.Spec.InitContainers, p.Spec.EphemeralContainers} {
				for _, c := range cs {
					images = append(images, c.Image)
				}
			}
			for _, ss := range [][]containerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses} {
				for _, s := range ss {
					images = append(images, s.Image, s.ImageID)
				}
			}
			for _, im := range images {
				// docker-pullable://repo@sha256:…, docker://sha256:…
				if _, rest, ok := strings.Cut(im, "://"); ok {
					im = rest
				}
				if im == "" {
					continue
				}
				if r, err := parseRef(im); err == nil {
					r.Source = src
					refs = append(refs, r)
				}
			}
		}
		return refs, FormatPods, nil
	case obj["format_version"] != nil:
		return pinned(file, string(data)), FormatLauncher, nil
	}
	return nil, "", fmt.Errorf("reading --in-use %s: JSON that is neither a Kubernetes pod list (kubectl get pods -A -o json) nor an imgctl launcher output", file)
}

// pinned finds every repo@sha256:… in text, each with its line.
func pinned(file, text string) []Ref {
	var refs []Ref
	for i, line := range strings.Split(text, "\n") {
		for _, m := range pinnedRe.FindAllString(line, -1) {
			if r, err := parseRef(m); err == nil {
				r.Source = fmt.Sprintf("%s:%d", file, i+1)
				refs = append(refs, r)
			}
		}
	}
	return refs
}

func parseLines(file string, data []byte) ([]Ref, error) {
	var refs []Ref
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		r, err := parseRef(line)
		if err != nil {
			return nil, fmt.Errorf("reading --in-use %s:%d: %q is neither a digest (sha256:…) nor an image reference (HOST/REPO:TAG, HOST/REPO@sha256:…)", file, i+1, line)
		}
		r.Source = fmt.Sprintf("%s:%d", file, i+1)
		refs = append(refs, r)
	}
	return refs, nil
}

// parseRef reads a digest or an image reference.
func parseRef(s string) (Ref, error) {
	if digestRe.MatchString(s) {
		return Ref{Digest: s}, nil
	}
	if strings.ContainsAny(s, " \t") {
		return Ref{}, fmt.Errorf("%q: not a reference", s)
	}
	ref, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		return Ref{}, err
	}
	r := Ref{Repository: ref.Context().Name()}
	switch v := ref.(type) {
	case name.Digest:
		r.Digest = v.DigestStr()
		// repo:tag@sha256:… keeps the digest, which is what runs.
	case name.Tag:
		r.Tag = v.TagStr()
	}
	return r, nil
}
