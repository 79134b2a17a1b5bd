package spec

import (
	"strings"

	"cuelang.org/go/cue"
)

// decode turns the validated #Library value into a Library. Any decoding
// failure (which validation should have prevented) is collected with its
// position, never dropped.
//
// When lenient, the value is known to have problems that are already
// reported: parts that fail to decode are skipped silently.
func decode(v cue.Value, dir, schemaDir string, lenient bool, c *collector) *Library {
	lib := &Library{Dir: dir, Policy: DefaultPolicy, declared: map[string]bool{}}
	report := func(err error) {
		if !lenient {
			addCUE(c, err, schemaDir)
		}
	}

	reg := v.LookupPath(cue.ParsePath("registry"))
	lib.RegistryPos = valuePos(reg, schemaDir)
	if s, err := reg.String(); err != nil {
		report(err) // Registry stays "": check skips it
	} else {
		lib.Registry = s
	}

	if pv := v.LookupPath(cue.ParsePath("policy")); pv.Exists() {
		var p struct {
			GraceDays     *int  `json:"graceDays"`
			DeprecatedTag *bool `json:"deprecatedTag"`
		}
		if err := pv.Decode(&p); err != nil {
			report(err)
		}
		if p.GraceDays != nil {
			lib.Policy.GraceDays = *p.GraceDays
		}
		if p.DeprecatedTag != nil {
			lib.Policy.DeprecatedTag = *p.DeprecatedTag
		}
	}

	images := v.LookupPath(cue.ParsePath("images"))
	it, err := images.Fields()
	if err != nil {
		report(err)
		lib.index()
		return lib
	}
	for it.Next() {
		iv := it.Value()
		im := &Image{Name: it.Selector().Unquoted(), Pos: valuePos(iv, schemaDir), FieldPos: map[string]Pos{}}
		lib.declared[im.Name] = true
		if err := iv.Decode(im); err != nil {
			report(err)
			continue
		}
		fields, err := iv.Fields()
		if err != nil {
			report(err)
			continue
		}
		for fields.Next() {
			name := fields.Selector().Unquoted()
			fv := fields.Value()
			im.FieldPos[name] = valuePos(fv, schemaDir)
			if name == "files" {
				decodeFilePositions(im, fv, schemaDir)
			}
		}
		lib.Images = append(lib.Images, im)
	}
	lib.index()
	return lib
}

func decodeFilePositions(im *Image, fv cue.Value, schemaDir string) {
	list, err := fv.List()
	if err != nil {
		return
	}
	for i := 0; list.Next() && i < len(im.Files); i++ {
		im.Files[i].Pos = valuePos(list.Value(), schemaDir)
		if im.Files[i].Mode == 0 && !list.Value().LookupPath(cue.ParsePath("mode")).Exists() {
			im.Files[i].Mode = DefaultFileMode
		}
	}
}

// valuePos is the position of a value in a user file, preferring it over
// positions inside the schema.
func valuePos(v cue.Value, schemaDir string) Pos {
	inUser := func(p Pos) bool { return p.IsValid() && !strings.HasPrefix(p.Filename, schemaDir) }
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
