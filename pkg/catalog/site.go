package catalog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestFile lists, one path a line, every file a catalog directory was
// written with. WriteSite only replaces a directory whose files are all
// listed in it.
const ManifestFile = ".imgctl-catalog"

// ErrNotCatalog is returned when the output directory exists, is not
// empty, and holds files a catalog did not write.
var ErrNotCatalog = errors.New("not a catalog directory")

// SiteOptions say what WriteSite writes.
type SiteOptions struct {
	// JSONOnly writes catalog.json alone, no HTML.
	JSONOnly bool
}

// Files renders the site: path (slash-separated, relative to the site
// root) to contents. catalog.json always; with HTML, index.html, one page
// per image under images/ and the assets.
func Files(c *Catalog, opts SiteOptions) (map[string][]byte, error) {
	files := map[string][]byte{}
	var b bytes.Buffer
	if err := c.WriteJSON(&b); err != nil {
		return nil, err
	}
	files["catalog.json"] = append([]byte(nil), b.Bytes()...)
	if opts.JSONOnly {
		return files, nil
	}
	b.Reset()
	if err := c.WriteHome(&b); err != nil {
		return nil, fmt.Errorf("rendering the home page: %w", err)
	}
	files["index.html"] = append([]byte(nil), b.Bytes()...)
	for _, im := range c.Images {
		b.Reset()
		if err := c.WriteImage(&b, im.Name); err != nil {
			return nil, fmt.Errorf("rendering the page of %s: %w", im.Name, err)
		}
		files["images/"+PageName(im.Name)] = append([]byte(nil), b.Bytes()...)
	}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(assetFS, p)
		files[p] = data
		return err
	})
	return files, err
}

// WriteSite writes the catalog to dir, atomically: the files are written
// to a new directory beside dir, which then takes dir's place (in one
// step on Linux, renameat2 RENAME_EXCHANGE; elsewhere the previous site is
// renamed aside first), so dir is never a half-written site. dir may be
// missing, empty, or a catalog WriteSite wrote before (every file in it
// listed in its ManifestFile); anything else is refused with
// ErrNotCatalog, and nothing is deleted.
func WriteSite(dir string, c *Catalog, opts SiteOptions) error {
	files, err := Files(c, opts)
	if err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	exists, err := checkReplaceable(dir)
	if err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return fmt.Errorf("creating the new site beside %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	paths := make([]string, 0, len(files)+1)
	for p := range files {
		paths = append(paths, p)
	}
	paths = append(paths, ManifestFile)
	sort.Strings(paths)
	files[ManifestFile] = []byte(strings.Join(paths, "\n") + "\n")
	for _, p := range paths {
		full := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	if !exists {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("moving the new site to %s: %w", dir, err)
		}
		return nil
	}
	// Swap the new site in; tmp then holds the previous one, removed on
	// return.
	swapped, err := exchange(tmp, dir)
	if err != nil {
		return fmt.Errorf("moving the new site to %s: %w", dir, err)
	}
	if swapped {
		return nil
	}
	old, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".old-")
	if err != nil {
		return fmt.Errorf("making room beside %s: %w", dir, err)
	}
	if err := os.Remove(old); err != nil { // only its unique name is wanted
		return err
	}
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("moving the previous site %s aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("moving the new site to %s: %w (and restoring the previous one from %s: %v)", dir, err, old, rerr)
		}
		return fmt.Errorf("moving the new site to %s: %w", dir, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("removing the previous site (moved to %s): %w", old, err)
	}
	return nil
}

// checkReplaceable says whether dir exists, and refuses it unless it is
// an empty directory or a previous catalog.
func checkReplaceable(dir string) (exists bool, err error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, fmt.Errorf("%s: %w: it is a file", dir, ErrNotCatalog)
	}
	listed := map[string]bool{}
	if f, err := os.Open(filepath.Join(dir, ManifestFile)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				listed[l] = true
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return false, fmt.Errorf("reading %s: %w", filepath.Join(dir, ManifestFile), err)
		}
	}
	var foreign []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." || d.IsDir() {
			return err
		}
		if !listed[filepath.ToSlash(rel)] {
			foreign = append(foreign, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if len(foreign) > 0 {
		more := ""
		if len(foreign) > 3 {
			more = fmt.Sprintf(" and %d more", len(foreign)-3)
			foreign = foreign[:3]
		}
		return false, fmt.Errorf("%s: %w: it holds files imgctl catalog did not write (%s%s); choose another --out or empty it", dir, ErrNotCatalog, strings.Join(foreign, ", "), more)
	}
	return true, nil
}
