package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrNotListed is returned by Mark when the marker was written but is still
// missing from the subject's referrers after every attempt, typically
// because another process kept rewriting the fallback index tag.
var ErrNotListed = errors.New("lifecycle marker not listed as a referrer")

// defaultAttempts bounds how often Mark writes one marker.
const defaultAttempts = 5

// Writer attaches lifecycle markers. It is safe for concurrent use. Writes
// to one repository are serialised inside a Writer, because on registries
// without the referrers API ggcr read-modify-writes the fallback index tag
// without locking. Two Writers (or two processes) do not serialise with each
// other: one can overwrite the index with a copy that lacks the other's
// entry. Mark's check-after-write, check-after-settle and bounded retry
// repair the losses it can see; marking again repairs the rest (see Mark).
type Writer struct {
	opts     []remote.Option
	attempts int
	// backoff is the pause before write attempt n+1 (n >= 1).
	backoff func(n int) time.Duration
	// minSettle is the shortest settle delay (see Mark).
	minSettle time.Duration
	// rewrites counts repeated writes: the marker was not listed after a
	// write, or the PUT hit distribution's concurrent-upload race.
	rewrites atomic.Int64

	mu    sync.Mutex
	repos map[string]chan struct{} // one-slot semaphore per repository
}

// NewWriter returns a Writer that talks to registries with opts (auth,
// transport, …). remote.WithContext in opts is overridden by the context
// passed to each call.
func NewWriter(opts ...remote.Option) *Writer {
	return &Writer{
		opts:     slices.Clone(opts),
		attempts: defaultAttempts,
		backoff: func(n int) time.Duration {
			// Jittered, so two writers that collided do not collide again.
			return time.Duration(n)*20*time.Millisecond + rand.N(20*time.Millisecond)
		},
		minSettle: 50 * time.Millisecond,
		repos:     map[string]chan struct{}{},
	}
}

// Mark attaches m to m.Subject in repo. It is idempotent: if a marker with
// identical bytes is already listed as a referrer of the subject, nothing is
// written and wrote is false.
//
// Otherwise Mark uploads the `{}` blob, PUTs the marker manifest by digest
// (ggcr then updates the `sha256-<hex>` fallback index if the registry has
// no referrers API) and reads the referrers back. On a registry that uses
// the fallback index it reads them once more after a settle delay (twice
// the time the write took, at least 50 ms, spent without holding the
// repository lock), to catch a writer outside this Writer that read the
// index before our write and PUT it back after. If the marker is missing at
// either check, Mark writes again, at most five times in all, and then
// returns ErrNotListed.
//
// Limit: without conditional requests (which neither ggcr nor distribution
// 2.8 offer) no client can close this race: a writer slower than the settle
// delay still drops our entry after Mark returned. The marker manifest
// stays in the registry, and calling Mark again (idempotent, cheap) lists
// it again; a reconcile run that re-marks every deprecated image heals it.
//
// On error, wrote reports whether a write may have reached the registry.
func (w *Writer) Mark(ctx context.Context, repo name.Repository, m Marker) (wrote bool, err error) {
	raw, digest, err := digestOf(m)
	if err != nil {
		return false, err
	}
	opts := withContext(ctx, w.opts)
	subject := m.Subject.Digest
	for n := 1; ; n++ {
		res, err := w.writeOnce(ctx, repo, subject, digest, raw, opts)
		wrote = wrote || res.wrote
		if err != nil {
			return wrote, err
		}
		if res.listed && !wrote {
			return false, nil // already marked
		}
		if res.listed {
			settle, err := w.settleDelay(repo, subject, res.took, opts)
			if err != nil {
				return wrote, err
			}
			if settle == 0 {
				return true, nil
			}
			if err := sleep(ctx, settle); err != nil {
				return wrote, err
			}
			listed, err := isReferrer(repo, subject, digest, opts)
			if err != nil {
				return wrote, fmt.Errorf("verifying lifecycle marker %s for %s@%s: %w", digest, repo, subject, err)
			}
			if listed {
				return true, nil
			}
		}
		if n >= w.attempts {
			err := fmt.Errorf("marking %s@%s with %s after %d attempts: %w", repo, subject, digest, n, ErrNotListed)
			if res.transient != nil {
				err = fmt.Errorf("%w (last write: %w)", err, res.transient)
			}
			return wrote, err
		}
		w.rewrites.Add(1)
		if err := sleep(ctx, w.backoff(n)); err != nil {
			return wrote, err
		}
	}
}

// writeResult is the outcome of one writeOnce.
type writeResult struct {
	wrote  bool          // the marker manifest was PUT
	listed bool          // it was listed afterwards (or before, if not wrote)
	took   time.Duration // how long the PUT (and ggcr's fallback update) took
	// transient is a PUT error worth another attempt (see blobRace).
	transient error
}

// writeOnce, holding the repository lock, writes the marker unless it is
// already listed, and checks that it is listed afterwards.
func (w *Writer) writeOnce(ctx context.Context, repo name.Repository, subject, digest v1.Hash, raw []byte, opts []remote.Option) (writeResult, error) {
	unlock, err := w.lock(ctx, repo)
	if err != nil {
		return writeResult{}, err
	}
	defer unlock()

	listed, err := isReferrer(repo, subject, digest, opts)
	if err != nil {
		return writeResult{}, fmt.Errorf("marking %s@%s: %w", repo, subject, err)
	}
	if listed {
		return writeResult{listed: true}, nil
	}
	// WriteLayer HEADs the blob first and uploads it only when missing.
	if err := remote.WriteLayer(repo, static.NewLayer(emptyJSON, types.OCIEmptyJSON), opts...); err != nil {
		return writeResult{}, fmt.Errorf("uploading empty config blob to %s: %w", repo, err)
	}
	start := time.Now()
	if err := remote.Put(repo.Digest(digest.String()), rawManifest(raw), opts...); err != nil {
		if blobRace(err) {
			// Not listed: Mark tries again.
			return writeResult{wrote: true, transient: err}, nil
		}
		return writeResult{wrote: true}, fmt.Errorf("writing lifecycle marker %s for %s@%s: %w", digest, repo, subject, err)
	}
	res := writeResult{wrote: true, took: time.Since(start)}
	res.listed, err = isReferrer(repo, subject, digest, opts)
	if err != nil {
		return res, fmt.Errorf("verifying lifecycle marker %s for %s@%s: %w", digest, repo, subject, err)
	}
	return res, nil
}

// settleDelay is how long to wait before the second check: zero when the
// registry lists referrers itself (no `sha256-<hex>` fallback tag exists),
// else twice the time our own read-modify-write took, at least minSettle.
func (w *Writer) settleDelay(repo name.Repository, subject v1.Hash, took time.Duration, opts []remote.Option) (time.Duration, error) {
	_, err := remote.Head(repo.Tag(fallbackTag(subject)), opts...)
	var terr *transport.Error
	switch {
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("checking fallback tag %s in %s: %w", fallbackTag(subject), repo, err)
	}
	return max(w.minSettle, 2*took), nil
}

// blobRace reports whether a manifest PUT was refused because the `{}` blob
// we had just uploaded looked missing or corrupt. Distribution 2.8 writes
// its link files in place, so while another client uploads the same blob
// a concurrent read of the link can see it empty (DIGEST_INVALID,
// MANIFEST_BLOB_UNKNOWN). It passes once the other upload has finished.
func blobRace(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestBlobUnknownErrorCode, transport.DigestInvalidErrorCode, transport.BlobUnknownErrorCode:
		default:
			return false
		}
	}
	return len(terr.Errors) > 0
}

// fallbackTag is the OCI referrers tag schema: `<alg>-<hex>`.
func fallbackTag(subject v1.Hash) string {
	return subject.Algorithm + "-" + subject.Hex
}

// MarkAll marks subject and, if it is an index, every manifest it lists
// (recursively), each with m's annotations and its own Subject. Children
// are marked before their index, so an index that carries a marker has
// marked children. m.Subject is ignored. subject must agree with the
// registry's descriptor for its digest. It returns how many markers were
// written.
func (w *Writer) MarkAll(ctx context.Context, repo name.Repository, subject v1.Descriptor, m Marker) (wrote int, err error) {
	got, err := remote.Get(repo.Digest(subject.Digest.String()), withContext(ctx, w.opts)...)
	if err != nil {
		return 0, fmt.Errorf("reading subject %s@%s: %w", repo, subject.Digest, err)
	}
	if got.MediaType != subject.MediaType || got.Size != subject.Size {
		return 0, fmt.Errorf("subject %s@%s: %w: registry has %s (%d bytes), caller gave %s (%d bytes)",
			repo, subject.Digest, ErrInvalidMarker, got.MediaType, got.Size, subject.MediaType, subject.Size)
	}
	if subject.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(got.Manifest))
		if err != nil {
			return 0, fmt.Errorf("parsing index %s@%s: %w", repo, subject.Digest, err)
		}
		for _, child := range im.Manifests {
			if !child.MediaType.IsImage() && !child.MediaType.IsIndex() {
				continue
			}
			// BuildKit's attestation manifests (SBOM, provenance) are
			// about a platform's image, not images themselves: they are
			// retired with the index that holds them.
			if child.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
				continue
			}
			n, err := w.MarkAll(ctx, repo, child, m)
			wrote += n
			if err != nil {
				return wrote, err
			}
		}
	}
	m.Subject = v1.Descriptor{MediaType: got.MediaType, Digest: got.Digest, Size: got.Size}
	ok, err := w.Mark(ctx, repo, m)
	if ok {
		wrote++
	}
	return wrote, err
}

// lock takes the repository's slot, waiting for it as long as ctx allows.
func (w *Writer) lock(ctx context.Context, repo name.Repository) (unlock func(), err error) {
	w.mu.Lock()
	sem, ok := w.repos[repo.String()]
	if !ok {
		sem = make(chan struct{}, 1)
		w.repos[repo.String()] = sem
	}
	w.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting to write to %s: %w", repo, context.Cause(ctx))
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// rawManifest hands pre-serialised manifest bytes to remote.Put, which
// sees the subject in them and maintains the fallback index.
type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

var _ remote.Taggable = rawManifest(nil)
