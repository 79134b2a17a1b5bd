package changelog

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/imgctl/imgctl/pkg/inventory"
)

// WriteJSON writes d as indented JSON.
func (d *Diff) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// WriteText writes d for a person, from the same value as WriteJSON.
func (d *Diff) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s: %s → %s\n", d.Image, side(d.From), side(d.To))
	if d.Base != nil {
		fmt.Fprintf(tw, "base:\t%s → %s\n", orNone(d.Base.From), orNone(d.Base.To))
	} else {
		fmt.Fprintf(tw, "base:\tunchanged\n")
	}
	switch {
	case d.Packages == nil:
		fmt.Fprintf(tw, "packages:\tunknown (%s)\n", d.NoPackages)
	case d.Packages.Counts.Zero():
		fmt.Fprintf(tw, "packages:\tunchanged\n")
	default:
		fmt.Fprintf(tw, "packages:\t%s\n", d.Packages.Counts)
		for _, e := range d.Packages.Ecosystems {
			fmt.Fprintf(tw, "  %s\n", e.Ecosystem)
			for _, p := range e.Added {
				fmt.Fprintf(tw, "    + %s\t%s\n", pkgName(p.Name, p.Type), p.Version)
			}
			for _, p := range e.Removed {
				fmt.Fprintf(tw, "    − %s\t%s\n", pkgName(p.Name, p.Type), p.Version)
			}
			for _, u := range e.Upgraded {
				fmt.Fprintf(tw, "    ↑ %s\t%s → %s\n", pkgName(u.Name, u.Type), u.From, u.To)
			}
			for _, u := range e.Downgraded {
				fmt.Fprintf(tw, "    ↓ %s\t%s → %s\n", pkgName(u.Name, u.Type), u.From, u.To)
			}
		}
	}
	if d.Largest != nil {
		fmt.Fprintf(tw, "largest added or grown (installed size):\n")
		for _, l := range d.Largest.Lines() {
			fmt.Fprintf(tw, "  %s\n", l)
		}
	}
	if len(d.Config) == 0 {
		fmt.Fprintf(tw, "config:\tunchanged\n")
	} else {
		fmt.Fprintf(tw, "config:\n")
		for _, c := range d.Config {
			fmt.Fprintf(tw, "  %s\t%s → %s\n", c.Field, orNone(c.From), orNone(c.To))
		}
	}
	fmt.Fprintf(tw, "size (compressed):\n")
	for _, s := range d.Sizes {
		switch {
		case s.From == 0:
			fmt.Fprintf(tw, "  %s\tnew platform, %s\n", s.Platform, HumanSize(s.To))
		case s.To == 0:
			fmt.Fprintf(tw, "  %s\tplatform dropped (was %s)\n", s.Platform, HumanSize(s.From))
		default:
			fmt.Fprintf(tw, "  %s\t%s → %s (%s)\n", s.Platform, HumanSize(s.From), HumanSize(s.To), signedSize(s.To-s.From))
		}
	}
	return tw.Flush()
}

func side(s Side) string {
	if s.Version != "" {
		return s.Version
	}
	return s.Digest
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func pkgName(name, typ string) string {
	if typ == "" {
		return name
	}
	return name + " (" + typ + ")"
}

// HumanSize renders a byte count in decimal units, as registries and
// docker do: "812 B", "4.2 kB", "123.4 MB", "1.02 GB".
func HumanSize(n int64) string {
	f := float64(n)
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", f/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", f/1e6)
	}
	return fmt.Sprintf("%.2f GB", f/1e9)
}

func signedSize(n int64) string {
	if n < 0 {
		return "−" + HumanSize(-n)
	}
	return "+" + HumanSize(n)
}

// WritePackages writes a package list grouped by ecosystem, one package a
// line ("  numpy  1.26.4").
func WritePackages(w io.Writer, ps []inventory.Package) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, eco := range inventory.Ecosystems {
		var n int
		for _, p := range ps {
			if p.Ecosystem == eco {
				n++
			}
		}
		if n == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s (%d)\n", eco, n)
		for _, p := range ps {
			if p.Ecosystem == eco {
				fmt.Fprintf(tw, "  %s\t%s\n", pkgName(p.Name, p.Type), p.Version)
			}
		}
	}
	if len(ps) == 0 {
		fmt.Fprintln(tw, "(no packages)")
	}
	return tw.Flush()
}
