// Command poolsim simulates publishing a 1,000-image library on 1 to 32
// BuildKit daemons (and more) with pkg/buildpool's scheduling policy and
// per-image build times measured by bench/pool.sh (pool-times.tsv), and
// prints markdown tables of publish time against the critical path.
//
//	poolsim -times _output/bench/pool-times.tsv [-jobs 8] [-cores 2] [-pull 1]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/imgctl/imgctl/bench/internal/poolsim"
)

func main() {
	times := flag.String("times", "_output/bench/pool-times.tsv", "measured build times: IMAGE<TAB>PARENT<TAB>SECONDS, the root with no parent")
	var p poolsim.Pool
	flag.IntVar(&p.Jobs, "jobs", 8, "builds at a time per daemon (--jobs)")
	flag.Float64Var(&p.Cores, "cores", 2, "cores per daemon: k builds on a daemon run at min(1, cores/k) of full speed")
	flag.Float64Var(&p.Pull, "pull", 1, "seconds a build costs more on another daemon than its parent's (pulling the parent's layers)")
	flag.IntVar(&p.Affinity, "affinity", 1, "buildpool's affinity")
	flag.Parse()
	if err := run(os.Stdout, *times, p); err != nil {
		fmt.Fprintln(os.Stderr, "poolsim:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, path string, p poolsim.Pool) error {
	bench, t, err := readTimes(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Measured (%s): root %.1f s, %d families %.1f–%.1f s, %d teams %.1f–%.1f s; --jobs %d, %g cores per daemon, %.1f s to pull a parent built elsewhere.\n\n",
		path, t.Root, len(t.Family), minOf(t.Family), maxOf(t.Family), len(t.Team), minOf(t.Team), maxOf(t.Team), p.Jobs, p.Cores, p.Pull)
	for _, s := range []struct {
		name    string
		lib     []poolsim.Image
		daemons []int
	}{
		{"the 40-image bench graph (measured times)", bench, []int{1, 2, 3, 4, 8, 16, 32}},
		{"1,000 images, 3 levels: root → 27 families → 972 teams", poolsim.Shape(t, 27, 972), []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}},
		{"1,000 images, 4 levels: root → 3 families → 36 groups → 960 teams", poolsim.Shape(t, 3, 36, 960), []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}},
	} {
		fmt.Fprintf(w, "%s:\n\n", s.name)
		fmt.Fprintln(w, "| daemons | publish (simulated) | critical path | lower bound | publish / critical path | publish / lower bound | built on the parent's daemon | width |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		for _, d := range s.daemons {
			q := p
			q.Daemons = d
			r, err := poolsim.Simulate(s.lib, q)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "| %d | %s | %s | %s | %.2fx | %.2fx | %d%% | %d |\n", d, dur(r.Makespan), dur(r.Critical), dur(r.Bound),
				r.Makespan/r.Critical, r.Makespan/r.Bound, 100*r.Warm/(len(s.lib)-1), r.Width)
		}
		fmt.Fprintln(w)
	}
	// CI fan-out against one pool, same daemons: a library of uneven
	// families (a few large, many small).
	skewed := poolsim.Skewed(t, 20, 979)
	fmt.Fprintln(w, "CI fan-out: 1,000 images (root → 20 families of uneven size, the largest ~27% of the teams → 979 teams), 32 daemons in all:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| CI jobs × daemons each | publish (simulated) | against one pool of 32 |")
	fmt.Fprintln(w, "|---|---|---|")
	q := p
	q.Daemons = 32
	base := 0.0
	for _, jobs := range []int{1, 2, 4, 8} {
		m, err := poolsim.FanOut(skewed, jobs, q)
		if err != nil {
			return err
		}
		if jobs == 1 {
			base = m
		}
		fmt.Fprintf(w, "| %d × %d | %s | %.2fx |\n", jobs, 32/jobs, dur(m), m/base)
	}
	fmt.Fprintln(w)
	// What building away from the parent's daemon costs.
	fmt.Fprintln(w, "Sensitivity to the pull of a parent built on another daemon, 3-level 1,000-image library:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pull | 32 daemons | publish / critical path | 1024 daemons | publish / critical path |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	flat := poolsim.Shape(t, 27, 972)
	for _, pull := range []float64{0, 1, 5} {
		q := p
		q.Pull = pull
		var cells []string
		for _, d := range []int{32, 1024} {
			q.Daemons = d
			r, err := poolsim.Simulate(flat, q)
			if err != nil {
				return err
			}
			cells = append(cells, dur(r.Makespan), fmt.Sprintf("%.2fx", r.Makespan/r.Critical))
		}
		fmt.Fprintf(w, "| %.0f s | %s |\n", pull, strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
	return nil
}

func dur(s float64) string {
	if s >= 120 {
		return fmt.Sprintf("%.1f min", s/60)
	}
	return fmt.Sprintf("%.1f s", s)
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// readTimes reads pool-times.tsv: the bench graph itself, and its times by
// level.
func readTimes(path string) ([]poolsim.Image, poolsim.Times, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, poolsim.Times{}, err
	}
	defer f.Close()
	type row struct {
		name, parent string
		sec          float64
	}
	var rows []row
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		fs := strings.Split(s.Text(), "\t")
		if len(fs) != 3 {
			return nil, poolsim.Times{}, fmt.Errorf("%s:%d: want IMAGE<TAB>PARENT<TAB>SECONDS", path, n)
		}
		sec, err := strconv.ParseFloat(fs[2], 64)
		if err != nil {
			return nil, poolsim.Times{}, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		rows = append(rows, row{fs[0], fs[1], sec})
	}
	if err := s.Err(); err != nil {
		return nil, poolsim.Times{}, err
	}
	// Parents first: roots, then their children, level by level.
	index := map[string]int{}
	var lib []poolsim.Image
	var t poolsim.Times
	level := map[string]int{}
	for added := true; added; {
		added = false
		for _, r := range rows {
			if _, ok := index[r.name]; ok {
				continue
			}
			parent := -1
			if r.parent != "" {
				pi, ok := index[r.parent]
				if !ok {
					continue
				}
				parent = pi
				level[r.name] = level[r.parent] + 1
			}
			index[r.name] = len(lib)
			lib = append(lib, poolsim.Image{Name: r.name, Parent: parent, Seconds: r.sec})
			added = true
			switch level[r.name] {
			case 0:
				t.Root = r.sec
			case 1:
				t.Family = append(t.Family, r.sec)
			default:
				t.Team = append(t.Team, r.sec)
			}
		}
	}
	if len(lib) != len(rows) || len(t.Family) == 0 || len(t.Team) == 0 {
		return nil, poolsim.Times{}, fmt.Errorf("%s: want one root, families on it and teams on them (an image's parent missing?)", path)
	}
	return lib, t, nil
}
