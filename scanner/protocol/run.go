package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/imgctl/imgctl/scanner/catalog"
)

// Statement is the in-toto statement written for each target, in the shape
// BuildKit decodes (intoto.Statement).
type Statement struct {
	// Type is StatementType.
	Type string `json:"_type"`
	// PredicateType is PredicateSPDX.
	PredicateType string `json:"predicateType"`
	// Subject is empty: BuildKit fills in the image.
	Subject []Subject `json:"subject"`
	// Predicate is the SPDX JSON document.
	Predicate json.RawMessage `json:"predicate"`
}

// Subject is an in-toto subject. The scanner writes none; the type is here
// for readers of statements.
type Subject struct {
	// Name names the subject.
	Name string `json:"name"`
	// Digest maps an algorithm to a hex digest.
	Digest map[string]string `json:"digest"`
}

// Run scans every target of req and writes its statement, in order,
// logging progress to log. It stops at the first failure, removing that
// target's statement file if it was begun.
func Run(ctx context.Context, req Request, log *slog.Logger) error {
	for _, w := range req.Warnings {
		log.Warn(w)
	}
	ctx, err := catalog.WithLicenseScanner(ctx)
	if err != nil {
		return err
	}
	for _, t := range req.Targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := scanTarget(ctx, req, t, log); err != nil {
			return err
		}
	}
	return nil
}

// scanTarget catalogues one target and writes its statement.
func scanTarget(ctx context.Context, req Request, t Target, log *slog.Logger) error {
	start := time.Now()
	log.Info("scanning", "target", t.Name, "path", t.Path)
	cfg := catalog.Config{Name: req.Params.Name, Version: req.Params.Version, Select: req.Params.Select, Files: req.Params.Files}
	if t.Extra && cfg.Name != "" {
		cfg.Name += " " + t.Name
	}
	s, err := catalog.Scan(ctx, t.Path, cfg)
	if err != nil {
		return fmt.Errorf("scanning %s: %w", t.Name, err)
	}
	var doc bytes.Buffer
	if err := catalog.EncodeSPDX(&doc, s); err != nil {
		return fmt.Errorf("scanning %s: %w", t.Name, err)
	}
	stmt, err := encodeStatement(doc.Bytes())
	if err != nil {
		return fmt.Errorf("scanning %s: %w", t.Name, err)
	}
	if len(stmt) > MaxStatementBytes {
		return fmt.Errorf("scanning %s: the statement is %d bytes and BuildKit accepts at most %d; leave FILES unset or select fewer catalogers",
			t.Name, len(stmt), MaxStatementBytes)
	}
	path := filepath.Join(req.Destination, t.Name+statementSuffix)
	if err := writeFile(path, stmt); err != nil {
		return err
	}
	attrs := []any{"target", t.Name, "file", path, "bytes", len(stmt), "seconds", time.Since(start).Round(time.Millisecond).Seconds(), "document", s.Source.Name}
	for _, c := range catalog.Counts(s) {
		attrs = append(attrs, c.Type, c.Count)
	}
	log.Info("wrote SBOM", attrs...)
	return nil
}

// encodeStatement wraps an SPDX JSON document in an in-toto statement: one
// JSON object and a newline.
func encodeStatement(spdx []byte) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as syft's SPDX encoder: keep "<" and "&" readable
	err := enc.Encode(Statement{
		Type:          StatementType,
		PredicateType: PredicateSPDX,
		Subject:       []Subject{},
		Predicate:     json.RawMessage(spdx),
	})
	if err != nil {
		return nil, fmt.Errorf("encoding in-toto statement: %w", err)
	}
	return b.Bytes(), nil
}

// writeFile writes data to path, removing path again if that fails.
func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing statement: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing statement %s: %w", path, err)
	}
	return nil
}
