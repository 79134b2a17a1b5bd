package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/imgctl/imgctl/pkg/lock"
)

// loadLocks reads each image's lock (locks/NAME.lock.json), parents first,
// and works out what its resolution depends on (LockInputs) and whether
// the lock is current (LockStale). A malformed lock is a positioned
// error; a missing or stale one is not (CheckLocks decides, by policy):
// `imgctl lock` must load the library to write them.
func loadLocks(lib *Library, c *collector) {
	digests := map[string]string{} // image -> its lock file's digest
	for _, name := range lib.Graph().Order() {
		im := lib.Image(name)
		if im == nil {
			continue
		}
		im.LockFile = lock.Path(lib.Dir, name)
		im.LockInputs = lockInputs(im, digests)
		l, err := lock.Read(im.LockFile)
		var pe *lock.ParseError
		switch {
		case errors.Is(err, lock.ErrNoLock):
			continue
		case errors.As(err, &pe):
			pos := Pos{Filename: im.LockFile, Line: max(pe.Line, 1), Column: max(pe.Column, 1)}
			c.add(pos, "lock of %s: %s", name, pe.Msg)
			continue
		case err != nil:
			c.add(Pos{Filename: im.LockFile, Line: 1, Column: 1}, "lock of %s: %v", name, err)
			continue
		}
		if l.Image != name {
			c.add(Pos{Filename: im.LockFile, Line: 1, Column: 1}, "lock of %s: the file locks image %q", name, l.Image)
			continue
		}
		im.Lock = l
		im.LockStale = lock.Stale(l, im.LockInputs)
		digests[name] = l.Digest()
	}
	for _, im := range lib.Images {
		lockTags(lib, im)
	}
}

// lockTags works out im's version tags from its lock and its ancestors'.
func lockTags(lib *Library, im *Image) {
	im.LockTags, im.LockTagErr = nil, ""
	if len(im.VersionTags) == 0 {
		return
	}
	if !im.Locked() {
		im.LockTagErr = "versionTags need a current lock (run imgctl lock " + im.Name + ")"
		return
	}
	for _, prefix := range sortedMapKeys(im.VersionTags) {
		ref := im.VersionTags[prefix]
		v, ok := lockedVersion(lib, im, ref)
		if !ok {
			im.LockTags, im.LockTagErr = nil, fmt.Sprintf("versionTags.%s: %s is not in the lock of %s or of its ancestors", prefix, ref, im.Name)
			return
		}
		im.LockTags = append(im.LockTags, prefix+"-"+v)
	}
}

// lockedVersion finds ref ("python3", "pip:pandas", "r:ggplot2") in the
// locks of im and its in-library ancestors, nearest first, on the first
// platform (in order) that has it, as a tag: a Debian version's upstream
// part, characters a tag cannot hold made "_".
func lockedVersion(lib *Library, im *Image, ref string) (string, bool) {
	eco, name, ok := strings.Cut(ref, ":")
	if !ok {
		eco, name = lock.Apt, ref
	}
	if eco == lock.Pip {
		name = lock.NormalizePip(name)
	}
	for cur := im; cur != nil && cur.Lock != nil; cur = lib.Image(cur.Parent) {
		for _, pf := range cur.Platforms {
			p := cur.Lock.For(pf)
			if p == nil {
				continue
			}
			switch eco {
			case lock.Apt:
				for _, a := range p.Apt {
					if a.Name == name {
						return tagSafe(lock.UpstreamVersion(a.Version)), true
					}
				}
			case lock.Pip, lock.R:
				ds := p.Pip
				if eco == lock.R {
					ds = p.R
				}
				for _, d := range ds {
					if d.Name == name {
						return tagSafe(d.Version), true
					}
				}
			}
		}
		if cur.ParentVersion != "" {
			break
		}
	}
	return "", false
}

func tagSafe(v string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, v)
}

func sortedMapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lockInputs is what im's resolution depends on; parentLocks are the lock
// digests of the images before it in graph order.
func lockInputs(im *Image, parentLocks map[string]string) lock.Inputs {
	in := lock.Inputs{Platforms: im.Platforms, Apt: im.Apt, AptRecommends: im.AptRecommends}
	if im.IsExternal() {
		in.From = im.From
	} else {
		in.Parent = &lock.Parent{Name: im.Parent, Version: im.ParentVersion}
		if im.ParentVersion == "" {
			in.Parent.Lock = parentLocks[im.Parent]
		}
	}
	if im.Rootfs != "" {
		in.Rootfs = map[string]string{"": im.RootfsDigest}
	}
	for pf, f := range im.RootfsByPlatform {
		if in.Rootfs == nil {
			in.Rootfs = map[string]string{}
		}
		in.Rootfs[pf] = f.Digest
	}
	if im.Pip != nil {
		in.Pip, in.PipIndex = im.Pip.Packages, im.Pip.Index
	}
	if im.R != nil {
		in.R, in.RRepo = im.R.Packages, im.R.Repo
	}
	return in
}

// CheckLocks reports, for the images named (every image when names is
// empty), each lock that plan and publish cannot build from: a stale lock
// (always: it would install what the spec no longer says), and a missing
// one when policy.lock is "required". Errors are positioned at the image.
func CheckLocks(lib *Library, names ...string) error {
	var c collector
	ims := lib.Images
	if len(names) > 0 {
		ims = nil
		for _, n := range names {
			if im := lib.Image(n); im != nil {
				ims = append(ims, im)
			}
		}
	}
	for _, im := range ims {
		switch {
		case im.Lock != nil && im.LockStale != "":
			c.add(im.Pos, "images.%s: its lock is stale: %s; run imgctl lock %s", im.Name, im.LockStale, im.Name)
		case im.LockTagErr != "":
			c.add(im.PosOf("versionTags"), "images.%s: %s", im.Name, im.LockTagErr)
		case im.Lock == nil && lib.Policy.Lock == LockRequired:
			pos := im.Pos
			c.add(pos, "images.%s: policy.lock is \"required\" (%s) and the image has no lock (%s); run imgctl lock %s",
				im.Name, lib.Policy.LockPos, relativeLock(lib, im), im.Name)
		}
	}
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Pos.String() < c.errs[j].Pos.String() })
	return c.errs
}

func relativeLock(lib *Library, im *Image) string {
	return fmt.Sprint(Pos{Filename: im.LockFile}.RelativeTo(lib.Dir).Filename)
}

// SetLock makes l the lock of image name (as `imgctl lock` just wrote it)
// and works out again what every image's resolution depends on and
// whether its lock is current: a child of name is stale now unless it was
// resolved within l. Not safe for concurrent use.
func (l *Library) SetLock(name string, lk *lock.Lock) {
	if im := l.Image(name); im != nil {
		im.Lock = lk
	}
	digests := map[string]string{}
	for _, n := range l.Graph().Order() {
		im := l.Image(n)
		if im == nil {
			continue
		}
		im.LockInputs = lockInputs(im, digests)
		im.LockStale = ""
		if im.Lock != nil {
			im.LockStale = lock.Stale(im.Lock, im.LockInputs)
			digests[n] = im.Lock.Digest()
		}
	}
	for _, im := range l.Images {
		lockTags(l, im)
	}
}
