package poolsim

import (
	"fmt"
	"math"
	"sort"

	"github.com/imgctl/imgctl/pkg/buildpool"
)

// Image is one image of a library: its parent (-1 for a root) and its
// build time alone on an idle daemon, in seconds.
type Image struct {
	Name    string
	Parent  int
	Seconds float64
}

// Pool is the simulated pool.
type Pool struct {
	// Daemons, Jobs (builds at a time per daemon), Cores per daemon.
	Daemons, Jobs int
	Cores         float64
	// Affinity is buildpool's (WithAffinity).
	Affinity int
	// Pull is what a build costs more away from its parent's daemon.
	Pull float64
}

// Result is a simulated publish.
type Result struct {
	// Makespan is the publish's build phase, in seconds.
	Makespan float64
	// Critical is the critical path: the longest chain of build times.
	Critical float64
	// Work is the sum of the build times.
	Work float64
	// Bound is the lower bound of any schedule: max(Critical,
	// Work / (Daemons·min(Cores, Jobs))).
	Bound float64
	// Warm is how many images with a parent were built on its daemon.
	Warm int
	// Width is the most images ready or running at one time.
	Width int
}

type run struct {
	image     int
	daemon    int
	remaining float64 // seconds of full-speed work left
}

// Simulate publishes lib (parents before children in lib's order) on p.
func Simulate(lib []Image, p Pool) (Result, error) {
	if p.Daemons < 1 || p.Jobs < 1 || p.Cores <= 0 {
		return Result{}, fmt.Errorf("pool %+v: want at least one daemon, job and core", p)
	}
	children := make([][]int, len(lib))
	var res Result
	finish := make([]float64, len(lib))
	for i, im := range lib {
		if im.Parent >= i {
			return Result{}, fmt.Errorf("image %s: parent %d does not come before it", im.Name, im.Parent)
		}
		if im.Parent >= 0 {
			children[im.Parent] = append(children[im.Parent], i)
			finish[i] = finish[im.Parent]
		}
		finish[i] += im.Seconds
		res.Critical = math.Max(res.Critical, finish[i])
		res.Work += im.Seconds
	}
	res.Bound = math.Max(res.Critical, res.Work/(float64(p.Daemons)*math.Min(p.Cores, float64(p.Jobs))))

	busy := make([]int, p.Daemons)
	built := make([]int, p.Daemons)
	builtOn := make([]int, len(lib)) // daemon that built the image, -1 none yet
	var ready []int                  // FIFO: the order images became ready
	for i, im := range lib {
		builtOn[i] = -1
		if im.Parent < 0 {
			ready = append(ready, i)
		}
	}
	var running []*run
	now, done := 0.0, 0
	for done < len(lib) {
		res.Width = max(res.Width, len(ready)+len(running))
		// Start what can start, in ready order: publish's semaphore has
		// Daemons·Jobs slots, the pool as many.
		for len(ready) > 0 {
			var cands []buildpool.Candidate
			var free []int
			for d := range p.Daemons {
				if busy[d] < p.Jobs {
					free = append(free, d)
					parent := lib[ready[0]].Parent
					cands = append(cands, buildpool.Candidate{Busy: busy[d], Built: built[d], Warm: parent >= 0 && builtOn[parent] == d})
				}
			}
			if len(free) == 0 {
				break
			}
			i := ready[0]
			ready = ready[1:]
			d := free[buildpool.Choose(cands, p.Affinity)]
			busy[d]++
			work := lib[i].Seconds
			if par := lib[i].Parent; par >= 0 {
				if builtOn[par] == d {
					res.Warm++
				} else {
					work += p.Pull
				}
			}
			running = append(running, &run{image: i, daemon: d, remaining: work})
		}
		// Advance to the next finish under processor sharing.
		rate := func(r *run) float64 { return math.Min(1, p.Cores/float64(busy[r.daemon])) }
		next := math.Inf(1)
		for _, r := range running {
			next = math.Min(next, r.remaining/rate(r))
		}
		if math.IsInf(next, 1) {
			return Result{}, fmt.Errorf("nothing runs and %d images are left", len(lib)-done)
		}
		now += next
		var still []*run
		var finished []*run
		for _, r := range running {
			r.remaining -= next * rate(r)
			if r.remaining <= 1e-9 {
				finished = append(finished, r)
			} else {
				still = append(still, r)
			}
		}
		// Children become ready in graph order of their parents.
		sort.Slice(finished, func(a, b int) bool { return finished[a].image < finished[b].image })
		for _, r := range finished {
			busy[r.daemon]--
			built[r.daemon]++
			builtOn[r.image] = r.daemon
			done++
			ready = append(ready, children[r.image]...)
		}
		running = still
	}
	res.Makespan = now
	return res, nil
}

// Times are measured build times by level of the bench graph: the root,
// the families (on the root) and the teams (on a family).
type Times struct {
	Root         float64
	Family, Team []float64
}

// Shape is a library of n images: a root, then each level's images spread
// evenly over the images of the level above (counts per level below the
// root). Level 1 takes family times, deeper levels team times, in turn.
func Shape(t Times, levels ...int) []Image {
	lib := []Image{{Name: "root", Parent: -1, Seconds: t.Root}}
	above := []int{0}
	fi, ti := 0, 0
	for l, n := range levels {
		var this []int
		for k := range n {
			sec := 0.0
			if l == 0 {
				sec = t.Family[fi%len(t.Family)]
				fi++
			} else {
				sec = t.Team[ti%len(t.Team)]
				ti++
			}
			lib = append(lib, Image{Name: fmt.Sprintf("l%d-%d", l+1, k), Parent: above[k%len(above)], Seconds: sec})
			this = append(this, len(lib)-1)
		}
		above = this
	}
	return lib
}

// Skewed is a library of a root, families on it and teams on the families,
// family k (from 0) having teams in proportion to 1/(k+1), as libraries
// have a few large families (python) and many small ones.
func Skewed(t Times, families, teams int) []Image {
	lib := []Image{{Name: "root", Parent: -1, Seconds: t.Root}}
	h := 0.0
	for k := range families {
		h += 1 / float64(k+1)
	}
	ti, left := 0, teams
	for k := range families {
		lib = append(lib, Image{Name: fmt.Sprintf("fam%d", k), Parent: 0, Seconds: t.Family[k%len(t.Family)]})
		fam := len(lib) - 1
		n := int(math.Round(float64(teams) / h / float64(k+1)))
		if k == families-1 || n > left {
			n = left
		}
		left -= n
		for j := range n {
			lib = append(lib, Image{Name: fmt.Sprintf("fam%d-team%d", k, j), Parent: fam, Seconds: t.Team[ti%len(t.Team)]})
			ti++
		}
	}
	return lib
}

// FanOut simulates lib published by jobs CI jobs, each with its own
// p.Daemons/jobs daemons: the root (the first image, lib's only root) is
// built first, then each job publishes the subtrees of the root's children
// given to it (largest first, to the job with the least work so far). It
// returns the makespan: the root plus the slowest job.
func FanOut(lib []Image, jobs int, p Pool) (float64, error) {
	if jobs < 1 || p.Daemons%jobs != 0 {
		return 0, fmt.Errorf("%d daemons do not split into %d jobs", p.Daemons, jobs)
	}
	// The subtree of every child of the root, and its work.
	top := make([]int, len(lib)) // the root's child each image descends from
	work := map[int]float64{}
	var tops []int
	for i, im := range lib {
		switch {
		case i == 0:
			continue
		case im.Parent == 0:
			top[i] = i
			tops = append(tops, i)
		default:
			top[i] = top[im.Parent]
		}
		work[top[i]] += im.Seconds
	}
	sort.SliceStable(tops, func(a, b int) bool { return work[tops[a]] > work[tops[b]] })
	job := map[int]int{}
	load := make([]float64, jobs)
	for _, t := range tops {
		j := 0
		for k := range load {
			if load[k] < load[j] {
				j = k
			}
		}
		job[t] = j
		load[j] += work[t]
	}
	q := p
	q.Daemons = p.Daemons / jobs
	slowest := 0.0
	for j := range jobs {
		// The job's images; the root, already built, takes no time.
		sub := []Image{{Name: "root", Parent: -1}}
		index := map[int]int{0: 0}
		for i, im := range lib {
			if i == 0 || job[top[i]] != j {
				continue
			}
			index[i] = len(sub)
			sub = append(sub, Image{Name: im.Name, Parent: index[im.Parent], Seconds: im.Seconds})
		}
		r, err := Simulate(sub, q)
		if err != nil {
			return 0, err
		}
		slowest = math.Max(slowest, r.Makespan)
	}
	return lib[0].Seconds + slowest, nil
}
