package spec

import (
	"fmt"
	"reflect"
	"strings"

	"cuelang.org/go/cue"
)

// decodeValue decodes v into the Go value rv points into. It is a small
// decoder for the spec's own types (strings, ints, bools, lists, string
// maps, structs with json tags) that looks struct fields up by name instead
// of iterating them: cue.Value.Decode and Fields sort every struct's fields
// topologically, which dominated loading large libraries.
func decodeValue(v cue.Value, rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.String:
		s, err := v.String()
		if err != nil {
			return err
		}
		rv.SetString(s)
	case reflect.Bool:
		b, err := v.Bool()
		if err != nil {
			return err
		}
		rv.SetBool(b)
	case reflect.Int:
		n, err := v.Int64()
		if err != nil {
			return err
		}
		rv.SetInt(n)
	case reflect.Slice:
		it, err := v.List()
		if err != nil {
			return err
		}
		out := reflect.MakeSlice(rv.Type(), 0, 4)
		for it.Next() {
			elem := reflect.New(rv.Type().Elem()).Elem()
			if err := decodeValue(it.Value(), elem); err != nil {
				return err
			}
			out = reflect.Append(out, elem)
		}
		rv.Set(out)
	case reflect.Map:
		it, err := v.Fields()
		if err != nil {
			return err
		}
		m := reflect.MakeMap(rv.Type())
		for it.Next() {
			elem := reflect.New(rv.Type().Elem()).Elem()
			if err := decodeValue(it.Value(), elem); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(it.Selector().Unquoted()), elem)
		}
		rv.Set(m)
	case reflect.Pointer:
		p := reflect.New(rv.Type().Elem())
		if err := decodeValue(v, p.Elem()); err != nil {
			return err
		}
		rv.Set(p)
	case reflect.Struct:
		return decodeStruct(v, rv, nil)
	default:
		return fmt.Errorf("spec: cannot decode into %s", rv.Type())
	}
	return nil
}

// decodeStruct decodes the fields of v into the struct rv, iterating v's
// fields once (a lookup per known name costs more: a missing field makes
// an error value). seen, when not nil, is called with each field decoded.
func decodeStruct(v cue.Value, rv reflect.Value, seen func(name string, fv cue.Value)) error {
	it, err := v.Fields()
	if err != nil {
		return err
	}
	byName := jsonIndex[rv.Type()]
	for it.Next() {
		name := it.Selector().Unquoted()
		if custom := customFields[rv.Type()][name]; custom != nil {
			if err := custom(it.Value(), rv); err != nil {
				return err
			}
		} else if i, ok := byName[name]; ok {
			if err := decodeValue(it.Value(), rv.Field(i)); err != nil {
				return err
			}
		} else {
			continue // the schema rejects unknown fields
		}
		if seen != nil {
			seen(name, it.Value())
		}
	}
	return nil
}

// jsonField is a struct field decoded from the CUE field of its JSON name.
type jsonField struct {
	name  string
	index int
	path  cue.Path
}

// customFields decode CUE fields whose Go form is not one field of the
// same JSON name: type -> CUE field name -> decoder of the field into the
// struct rv. Filled in at init (a literal would be an initialization
// cycle).
var customFields = map[reflect.Type]map[string]func(v cue.Value, rv reflect.Value) error{}

// decodeRootfs decodes rootfs, a string (Image.Rootfs) or a map from
// platform to archive (Image.RootfsByPlatform; keys as written, positions
// and digests are filled in later).
func decodeRootfs(v cue.Value, rv reflect.Value) error {
	im := rv.Addr().Interface().(*Image)
	if v.IncompleteKind() != cue.StructKind {
		return decodeValue(v, reflect.ValueOf(&im.Rootfs).Elem())
	}
	var m map[string]string
	if err := decodeValue(v, reflect.ValueOf(&m).Elem()); err != nil {
		return err
	}
	im.RootfsByPlatform = make(map[string]RootfsFile, len(m))
	for k, src := range m {
		im.RootfsByPlatform[k] = RootfsFile{Src: src}
	}
	return nil
}

var (
	fieldCache = map[reflect.Type][]jsonField{}
	jsonIndex  = map[reflect.Type]map[string]int{} // type -> JSON name -> field index
)

// jsonFields lists t's fields with a JSON name. The spec types are fixed,
// so the cache is filled once, at init, and only read afterwards.
func jsonFields(t reflect.Type) []jsonField {
	if fs, ok := fieldCache[t]; ok {
		return fs
	}
	var fs []jsonField
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fs = append(fs, jsonField{name: name, index: i, path: cue.MakePath(cue.Str(name))})
	}
	return fs
}

func init() {
	customFields[reflect.TypeFor[Image]()] = map[string]func(cue.Value, reflect.Value) error{"rootfs": decodeRootfs}
	for _, t := range []reflect.Type{reflect.TypeFor[Image](), reflect.TypeFor[Pip](), reflect.TypeFor[R](), reflect.TypeFor[File](), reflect.TypeFor[Deprecation]()} {
		fieldCache[t] = jsonFields(t)
		jsonIndex[t] = map[string]int{}
		for _, f := range fieldCache[t] {
			jsonIndex[t][f.name] = f.index
		}
	}
}
