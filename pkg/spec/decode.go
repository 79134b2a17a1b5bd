package spec

import (
	"fmt"
	"reflect"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
)

// decode turns the validated library value into a Library. Any decoding
// failure (which validation should have prevented) is collected with its
// position, never dropped. When lenient, the value is known to have
// problems that are already reported: parts that fail to decode are skipped
// silently.
//
// Each image is walked once: every field is decoded into the Image field of
// the same JSON name and its position recorded in the same pass. Positions
// come from the syntax (see syntaxIndex), which is cheap and points at the
// image's own declaration rather than at a shared constraint. The syntax
// index is returned for the checks, which look up list elements in it.
func decode(ev evaluated, dir string, lenient bool, c *collector) (*Library, *syntaxIndex) {
	lib := &Library{Dir: dir, Policy: DefaultPolicy, declared: map[string]bool{}}
	report := func(err error) {
		if !lenient {
			addCUE(c, err, ev.internal)
		}
	}
	v := ev.value
	idx := indexSyntax(ev.files)

	reg := v.LookupPath(cue.ParsePath("registry"))
	lib.RegistryPos = idx.top["registry"]
	if !lib.RegistryPos.IsValid() {
		lib.RegistryPos = valuePos(reg, ev.internal)
	}
	if s, err := reg.String(); err != nil {
		report(err) // Registry stays "": check skips it
	} else {
		lib.Registry = s
	}

	if pv := v.LookupPath(cue.ParsePath("policy")); pv.Exists() {
		var p struct {
			GraceDays     *int      `json:"graceDays"`
			RefreshDays   *int      `json:"refreshDays"`
			DeprecatedTag *bool     `json:"deprecatedTag"`
			Source        *string   `json:"source"`
			CacheRepo     *string   `json:"cacheRepo"`
			Mirror        *string   `json:"mirror"`
			Platforms     *[]string `json:"platforms"`
			SBOM          *bool     `json:"sbom"`
			SBOMScanner   *string   `json:"sbomScanner"`
			Provenance    any       `json:"provenance"`
			Sign          *bool     `json:"sign"`
			SignKeyEnv    *string   `json:"signKeyEnv"`
			Lock          *string   `json:"lock"`
			VulnDB        *string   `json:"vulnDB"`
			MaxGrowth     *string   `json:"maxGrowth"`
			Vulns         *struct {
				Fail    *string `json:"fail"`
				Fixable *bool   `json:"fixable"`
				Ignore  []struct {
					ID     string   `json:"id"`
					Images []string `json:"images"`
					Reason string   `json:"reason"`
					Until  string   `json:"until"`
				} `json:"ignore"`
			} `json:"vulnerabilities"`
			Retention *struct {
				AfterEndOfLifeDays *int `json:"afterEndOfLifeDays"`
				KeepNewest         *int `json:"keepNewest"`
			} `json:"retention"`
		}
		if err := pv.Decode(&p); err != nil {
			report(err)
		}
		at := func(field string) Pos {
			if pos, ok := idx.policy[field]; ok {
				return pos
			}
			return valuePos(pv.LookupPath(cue.MakePath(cue.Str(field))), ev.internal)
		}
		if p.GraceDays != nil {
			lib.Policy.GraceDays = *p.GraceDays
		}
		if p.RefreshDays != nil {
			lib.Policy.RefreshDays, lib.Policy.RefreshDaysPos = *p.RefreshDays, at("refreshDays")
		}
		if p.DeprecatedTag != nil {
			lib.Policy.DeprecatedTag = *p.DeprecatedTag
		}
		if p.Source != nil {
			lib.Policy.Source, lib.Policy.SourcePos = *p.Source, at("source")
		}
		if p.CacheRepo != nil {
			lib.Policy.CacheRepo, lib.Policy.CacheRepoPos = *p.CacheRepo, at("cacheRepo")
		}
		if p.Mirror != nil {
			lib.Policy.Mirror, lib.Policy.MirrorPos = *p.Mirror, at("mirror")
		}
		if p.Platforms != nil && len(*p.Platforms) > 0 { // [] is unset
			lib.Policy.Platforms, lib.Policy.PlatformsPos = *p.Platforms, at("platforms")
		}
		if p.SBOM != nil {
			lib.Policy.SBOM = *p.SBOM
		}
		if p.SBOMScanner != nil {
			lib.Policy.SBOMScanner, lib.Policy.SBOMScannerPos = *p.SBOMScanner, at("sbomScanner")
		}
		switch v := p.Provenance.(type) {
		case bool:
			lib.Policy.Provenance, lib.Policy.ProvenancePos = "", at("provenance")
			if v {
				lib.Policy.Provenance = ProvenanceMin
			}
		case string: // "min" or "max": the schema allows no other
			lib.Policy.Provenance, lib.Policy.ProvenancePos = v, at("provenance")
		}
		if p.Sign != nil {
			lib.Policy.Sign, lib.Policy.SignPos = *p.Sign, at("sign")
		}
		if p.SignKeyEnv != nil {
			lib.Policy.SignKeyEnv = *p.SignKeyEnv
		}
		if p.Lock != nil {
			lib.Policy.Lock, lib.Policy.LockPos = *p.Lock, at("lock")
		}
		if p.VulnDB != nil {
			lib.Policy.VulnDB, lib.Policy.VulnDBPos = *p.VulnDB, at("vulnDB")
		}
		if p.MaxGrowth != nil {
			lib.Policy.MaxGrowth, lib.Policy.MaxGrowthPos = *p.MaxGrowth, at("maxGrowth")
		}
		if rp := p.Retention; rp != nil {
			r := &Retention{AfterEndOfLifeDays: DefaultAfterEndOfLifeDays, KeepNewest: DefaultKeepNewest, Pos: at("retention")}
			if rp.AfterEndOfLifeDays != nil {
				r.AfterEndOfLifeDays = *rp.AfterEndOfLifeDays
			}
			if rp.KeepNewest != nil {
				r.KeepNewest = *rp.KeepNewest
			}
			lib.Policy.Retention = r
		}
		if vp := p.Vulns; vp != nil {
			vs := &lib.Policy.Vulnerabilities
			if vp.Fail != nil {
				vs.Fail = *vp.Fail
				vs.FailPos = valuePos(pv.LookupPath(cue.ParsePath("vulnerabilities.fail")), ev.internal)
			}
			if vp.Fixable != nil {
				vs.Fixable = *vp.Fixable
			}
			for i, ig := range vp.Ignore {
				pos := valuePos(pv.LookupPath(cue.ParsePath(fmt.Sprintf("vulnerabilities.ignore[%d]", i))), ev.internal)
				vs.Ignore = append(vs.Ignore, VulnIgnore{ID: ig.ID, Images: ig.Images, Reason: ig.Reason, Until: ig.Until, Pos: pos})
			}
		}
	}

	decodeSizes(lib, v, ev.internal, c.add)
	it, err := v.LookupPath(cue.ParsePath("images")).Fields()
	if err != nil {
		report(err)
		lib.index()
		return lib, idx
	}
	for it.Next() {
		name := it.Selector().Unquoted()
		lib.declared[name] = true
		if im, ok := decodeImage(name, it.Value(), idx, ev.internal, report); ok {
			lib.Images = append(lib.Images, im)
		}
	}
	lib.index()
	return lib, idx
}

func decodeImage(name string, iv cue.Value, idx *syntaxIndex, internal func(string) bool, report func(error)) (*Image, bool) {
	im := &Image{Name: name, FieldPos: make(map[string]Pos, 8)}
	err := decodeStruct(iv, reflect.ValueOf(im).Elem(), func(field string, fv cue.Value) {
		pos, ok := idx.fields[name][field]
		if !ok {
			pos = valuePos(fv, internal) // set by composition, not literally
		}
		im.FieldPos[field] = pos
	})
	if err != nil {
		report(err)
		return nil, false
	}
	im.Pos = idx.images[name]
	if !im.Pos.IsValid() {
		im.Pos = valuePos(iv, internal) // e.g. made by a comprehension
	}
	for i := range im.Files {
		if ps := idx.files[name]; i < len(ps) {
			im.Files[i].Pos = ps[i]
		}
		if im.Files[i].Mode == 0 { // unset (a mode of 0 would be useless)
			im.Files[i].Mode = DefaultFileMode
		}
	}
	for k, f := range im.RootfsByPlatform {
		f.Pos = idx.rootfs[name][k] // invalid when composed: check uses the field's
		im.RootfsByPlatform[k] = f
	}
	return im, true
}

// syntaxIndex holds positions read from the user's files: where each image
// is declared and where each of its fields is set. The first declaration
// wins when an image is spread over several places.
type syntaxIndex struct {
	top    map[string]Pos
	policy map[string]Pos // policy field -> position of its value
	images map[string]Pos
	fields map[string]map[string]Pos
	files  map[string][]Pos
	// rootfs holds where each entry of the map form of rootfs is set:
	// image -> key as written -> position of the key.
	rootfs map[string]map[string]Pos
	// lists are the list literals of the checked string lists, whose
	// elements' positions are looked up only for elements in error.
	lists map[listKey]*ast.ListLit
}

// listKey names a list field of an image: "apt", "platforms",
// "pip.packages", "r.packages"; or with image "", of the policy:
// "policy.platforms".
type listKey struct{ image, path string }

// indexSyntax walks the literal `images: NAME: {…}` and `policy: {…}`
// declarations (also `X & {…}` and nested shorthands). A scalar field's
// position is its value's; a struct or list field's is its label's. Images
// built by comprehensions are not indexed; their positions come from the
// values.
func indexSyntax(files []*ast.File) *syntaxIndex {
	idx := &syntaxIndex{top: map[string]Pos{}, policy: map[string]Pos{}, images: map[string]Pos{}, fields: map[string]map[string]Pos{}, files: map[string][]Pos{}, rootfs: map[string]map[string]Pos{}, lists: map[listKey]*ast.ListLit{}}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			label := labelName(fd.Label)
			if _, seen := idx.top[label]; !seen && label != "" {
				idx.top[label] = toPos(fd.Value.Pos())
			}
			if label == "policy" {
				idx.addPolicy(fd.Value)
			}
			if label != "images" {
				continue
			}
			for _, st := range structs(fd.Value) {
				for _, e := range st.Elts {
					if img, ok := e.(*ast.Field); ok {
						idx.addImage(img)
					}
				}
			}
		}
	}
	return idx
}

func (idx *syntaxIndex) addImage(f *ast.Field) {
	name := labelName(f.Label)
	if name == "" {
		return
	}
	if _, ok := idx.images[name]; !ok {
		idx.images[name] = toPos(f.Label.Pos())
	}
	if idx.fields[name] == nil {
		idx.fields[name] = map[string]Pos{}
	}
	for _, st := range structs(f.Value) {
		for _, e := range st.Elts {
			fd, ok := e.(*ast.Field)
			if !ok {
				continue
			}
			field := labelName(fd.Label)
			if field == "" {
				continue
			}
			idx.addLists(name, field, fd.Value)
			if _, ok := idx.fields[name][field]; ok {
				continue
			}
			switch fd.Value.(type) {
			case *ast.StructLit, *ast.ListLit:
				idx.fields[name][field] = toPos(fd.Label.Pos())
			default:
				idx.fields[name][field] = toPos(fd.Value.Pos())
			}
			if list, ok := fd.Value.(*ast.ListLit); ok && field == "files" && idx.files[name] == nil {
				for _, el := range list.Elts {
					idx.files[name] = append(idx.files[name], toPos(el.Pos()))
				}
			}
		}
	}
}

// addPolicy records where each field of a `policy: {…}` literal is set.
func (idx *syntaxIndex) addPolicy(x ast.Expr) {
	for _, st := range structs(x) {
		for _, e := range st.Elts {
			fd, ok := e.(*ast.Field)
			if !ok {
				continue
			}
			if field := labelName(fd.Label); field != "" {
				if _, seen := idx.policy[field]; !seen {
					idx.policy[field] = toPos(fd.Value.Pos())
				}
				if field == "platforms" {
					idx.addList(listKey{"", "policy.platforms"}, fd.Value)
				}
			}
		}
	}
}

// addLists records the list literals of an image's checked string lists,
// and where the entries of the map form of rootfs are set.
func (idx *syntaxIndex) addLists(image, field string, x ast.Expr) {
	switch field {
	case "apt", "platforms":
		idx.addList(listKey{image, field}, x)
	case "rootfs":
		for _, st := range structs(x) {
			for _, e := range st.Elts {
				fd, ok := e.(*ast.Field)
				if !ok {
					continue
				}
				if key := labelName(fd.Label); key != "" {
					if idx.rootfs[image] == nil {
						idx.rootfs[image] = map[string]Pos{}
					}
					if _, seen := idx.rootfs[image][key]; !seen {
						idx.rootfs[image][key] = toPos(fd.Label.Pos())
					}
				}
			}
		}
	case "pip", "r":
		for _, st := range structs(x) {
			for _, e := range st.Elts {
				if fd, ok := e.(*ast.Field); ok && labelName(fd.Label) == "packages" {
					idx.addList(listKey{image, field + ".packages"}, fd.Value)
				}
			}
		}
	}
}

func (idx *syntaxIndex) addList(k listKey, x ast.Expr) {
	if list, ok := x.(*ast.ListLit); ok && idx.lists[k] == nil {
		idx.lists[k] = list
	}
}

// elemPos returns the position of element i of an image's list field
// ("apt", "pip.packages"), or an invalid Pos when the syntax does not
// show it: no literal list, or a comprehension before the element.
func (idx *syntaxIndex) elemPos(image, path string, i int) Pos {
	list := idx.lists[listKey{image, path}]
	if list == nil || i >= len(list.Elts) {
		return Pos{}
	}
	for _, el := range list.Elts[:i+1] {
		switch el.(type) {
		case *ast.Comprehension, *ast.Ellipsis:
			return Pos{}
		}
	}
	return toPos(list.Elts[i].Pos())
}

// structs returns the struct literals an expression is made of: the literal
// itself, the operands of `&`, a parenthesised expression.
func structs(x ast.Expr) []*ast.StructLit {
	switch x := x.(type) {
	case *ast.StructLit:
		return []*ast.StructLit{x}
	case *ast.BinaryExpr:
		return append(structs(x.X), structs(x.Y)...)
	case *ast.ParenExpr:
		return structs(x.X)
	}
	return nil
}

func labelName(l ast.Label) string {
	name, _, err := ast.LabelName(l)
	if err != nil {
		return ""
	}
	return name
}

// valuePos is the position of a value in a user file, preferring it over
// positions in imgctl's own files. It is the fallback for values the syntax
// index does not cover.
func valuePos(v cue.Value, internal func(string) bool) Pos {
	inUser := func(p Pos) bool { return p.IsValid() && !internal(p.Filename) }
	if p := toPos(v.Pos()); inUser(p) {
		return p
	}
	if op, args := v.Expr(); op == cue.AndOp {
		for _, conj := range args {
			if p := toPos(conj.Pos()); inUser(p) {
				return p
			}
		}
	}
	return toPos(v.Pos())
}
