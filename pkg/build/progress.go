package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// tailLines is how many lines of a failed step's output a StepError keeps,
// stderrKeep how many of them are always the last lines of stderr.
const (
	tailLines  = 20
	stderrKeep = 5
)

// StepError is a build step that failed.
type StepError struct {
	// Image is the image name.
	Image string
	// Step and Steps are the step's position among the layer steps, 1-based.
	Step, Steps int
	// Field is the spec field behind the step: "apt", "pip", "run[2]", …
	Field string
	// Command is the step's human command.
	Command string
	// Output is the last lines of the step's output, secrets masked.
	Output []string
	// Err is BuildKit's error.
	Err error
}

func (e *StepError) Error() string {
	var b strings.Builder
	msg := strings.TrimPrefix(oneLine(grpcMessage(e.Err)), "failed to solve: ")
	fmt.Fprintf(&b, "building %s: step %d/%d (%s) failed: %s", e.Image, e.Step, e.Steps, e.Field, msg)
	if !strings.Contains(msg, "/bin/sh -c ") { // BuildKit names the process of a failed run
		fmt.Fprintf(&b, "\nstep: %s", e.Command)
	}
	if len(e.Output) > 0 {
		fmt.Fprintf(&b, "\nlast %d lines of output:", len(e.Output))
		for _, l := range e.Output {
			b.WriteString("\n  | " + l)
		}
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// tracker follows a solve's progress: vertex names, errors, the tail of
// each vertex's output, and warnings. It masks secret values in the
// statuses it passes on.
type tracker struct {
	mu       sync.Mutex
	secrets  []string
	vertices map[digest.Digest]*vertexState
	warns    []string
}

type vertexState struct {
	name    string
	err     string
	streams map[int]*streamTail // by stream: 1 stdout, 2 stderr
	seq     int                 // lines seen
}

// streamTail is the last lines of one output stream of a vertex.
type streamTail struct {
	lines   []logLine // complete lines, at most tailLines
	partial logLine   // the unfinished last line
}

// logLine is a line of output with the time BuildKit read it, and the order
// it arrived in to break ties (unique per vertex).
type logLine struct {
	ts   time.Time
	seq  int
	text string
}

func newTracker(secrets []string) *tracker {
	var ss []string
	for _, s := range secrets {
		if s != "" {
			ss = append(ss, s)
		}
	}
	// Longest first, so a value containing another is masked whole.
	sort.Slice(ss, func(i, j int) bool { return len(ss[i]) > len(ss[j]) })
	return &tracker{secrets: ss, vertices: map[digest.Digest]*vertexState{}}
}

// add records s and returns it with secrets masked in its logs.
func (t *tracker) add(s *client.SolveStatus) *client.SolveStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range s.Vertexes {
		vs := t.vertex(v.Digest)
		vs.name = v.Name
		if v.Error != "" {
			vs.err = v.Error
		}
	}
	masked := false
	for _, l := range s.Logs {
		if t.mask(l.Data) != nil {
			masked = true
		}
	}
	if masked {
		c := *s
		c.Logs = make([]*client.VertexLog, len(s.Logs))
		for i, l := range s.Logs {
			cl := *l
			if m := t.mask(l.Data); m != nil {
				cl.Data = m
			}
			c.Logs[i] = &cl
		}
		s = &c
	}
	for _, l := range s.Logs {
		t.vertex(l.Vertex).write(l)
	}
	for _, w := range s.Warnings {
		t.warns = append(t.warns, string(t.maskString(w.Short)))
	}
	return s
}

// mask returns data with secrets replaced by "****", or nil when it holds
// none.
func (t *tracker) mask(data []byte) []byte {
	var out []byte
	for _, s := range t.secrets {
		src := data
		if out != nil {
			src = out
		}
		if bytes.Contains(src, []byte(s)) {
			out = bytes.ReplaceAll(src, []byte(s), []byte("****"))
		}
	}
	return out
}

func (t *tracker) maskString(b []byte) []byte {
	if m := t.mask(b); m != nil {
		return m
	}
	return b
}

func (t *tracker) vertex(d digest.Digest) *vertexState {
	vs, ok := t.vertices[d]
	if !ok {
		vs = &vertexState{}
		t.vertices[d] = vs
	}
	return vs
}

func (vs *vertexState) write(l *client.VertexLog) {
	if vs.streams == nil {
		vs.streams = map[int]*streamTail{}
	}
	st := vs.streams[l.Stream]
	if st == nil {
		st = &streamTail{}
		vs.streams[l.Stream] = st
	}
	data := append([]byte(st.partial.text), l.Data...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		vs.seq++
		st.lines = append(st.lines, logLine{ts: l.Timestamp, seq: vs.seq, text: strings.TrimRight(string(data[:i]), "\r")})
		data = data[i+1:]
	}
	vs.seq++
	st.partial = logLine{ts: l.Timestamp, seq: vs.seq, text: string(data)}
	if len(st.lines) > tailLines {
		st.lines = append([]logLine(nil), st.lines[len(st.lines)-tailLines:]...)
	}
}

// tail merges the streams' last lines in time order and keeps the last
// tailLines, always including the last stderrKeep lines of stderr: BuildKit
// reads stdout and stderr separately, so an error message written last can
// carry an earlier time than the output before it.
func (vs *vertexState) tail() []string {
	var all []logLine
	for _, st := range vs.streams {
		all = append(all, st.all()...)
	}
	sortLines(all)
	keep := map[int]bool{} // by seq
	if st := vs.streams[2]; st != nil {
		errs := st.all()
		if len(errs) > stderrKeep {
			errs = errs[len(errs)-stderrKeep:]
		}
		for _, l := range errs {
			keep[l.seq] = true
		}
	}
	var kept, others []logLine
	for _, l := range all {
		if keep[l.seq] {
			kept = append(kept, l)
		} else {
			others = append(others, l)
		}
	}
	room := tailLines - len(kept)
	if len(others) > room {
		others = others[len(others)-room:]
	}
	chosen := append(others, kept...)
	sortLines(chosen)
	out := make([]string, len(chosen))
	for i, l := range chosen {
		out[i] = l.text
	}
	return out
}

// all is the stream's complete lines and its unfinished one.
func (st *streamTail) all() []logLine {
	out := append([]logLine(nil), st.lines...)
	if st.partial.text != "" {
		out = append(out, st.partial)
	}
	return out
}

func sortLines(ls []logLine) {
	sort.SliceStable(ls, func(i, j int) bool {
		if !ls[i].ts.Equal(ls[j].ts) {
			return ls[i].ts.Before(ls[j].ts)
		}
		return ls[i].seq < ls[j].seq
	})
}

func (t *tracker) warnings() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.warns...)
}

// failure turns a solve error into a *StepError when a step's vertex
// failed, or a plain error naming the image.
func (t *tracker) failure(image string, p *prepared, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("building %s: %w", image, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	total := 0
	for _, s := range p.steps {
		if s.layer() {
			total++
		}
	}
	var best *StepError
	for _, vs := range t.vertices {
		i, ok := p.names[vs.name]
		if !ok || vs.err == "" {
			continue
		}
		n := 0
		for _, s := range p.steps[:i+1] {
			if s.layer() {
				n++
			}
		}
		se := &StepError{Image: image, Step: n, Steps: total, Field: p.steps[i].field, Command: p.steps[i].createdBy, Output: vs.tail(), Err: err}
		// Several vertices can report an error (the failure and what got
		// cancelled); the earliest step is the cause.
		if best == nil || se.Step < best.Step {
			best = se
		}
	}
	if best != nil {
		return best
	}
	return fmt.Errorf("building %s: %s", image, oneLine(grpcMessage(err)))
}

// userinfo encodes "user:password" for the userinfo part of a URL.
func userinfo(v string) string {
	if u, pw, ok := strings.Cut(v, ":"); ok {
		return url.UserPassword(u, pw).String()
	}
	return url.User(v).String()
}

// forward returns the channel a solve reports to: each status is masked
// and recorded by t, then passed to status (when not nil) until ctx ends.
// wait returns once the solve closed the channel and all was passed on.
func (t *tracker) forward(ctx context.Context, status chan *client.SolveStatus) (ch chan *client.SolveStatus, wait func()) {
	ch = make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			s = t.add(s)
			if status != nil {
				select {
				case status <- s:
				case <-ctx.Done():
				}
			}
		}
	}()
	return ch, func() { <-done }
}
