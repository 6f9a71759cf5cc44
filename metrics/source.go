package metrics

import (
	"context"
	"errors"

	"github.com/imapmig/imapmig/migrate"
)

// imapErrorKinds are the kind label's values.
var imapErrorKinds = []string{"auth", "tls", "connection", "connection_limit", "capability",
	"message_gone", "folder_gone", "uidvalidity_changed", "other"}

// imapErrorKind classifies a source error by what it means, never by its
// text; "" for no error and for a stopped pass.
func imapErrorKind(err error) string {
	var ce *migrate.CapabilityError
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, migrate.ErrAuthFailed), migrate.ReasonOf(err) == migrate.ReasonImapAuthenticationFailed:
		return "auth"
	case migrate.ReasonOf(err) == migrate.ReasonImapTLSFailed:
		return "tls"
	case errors.Is(err, migrate.ErrConnectionLimit), migrate.ReasonOf(err) == migrate.ReasonImapConnectionLimit:
		return "connection_limit"
	case errors.As(err, &ce):
		return "capability"
	case migrate.ReasonOf(err) == migrate.ReasonImapConnectionFailed:
		return "connection"
	case errors.Is(err, migrate.ErrMessageGone):
		return "message_gone"
	case errors.Is(err, migrate.ErrFolderGone):
		return "folder_gone"
	case errors.Is(err, migrate.ErrUIDValidityChanged):
		return "uidvalidity_changed"
	}
	return "other"
}

func (m *Metrics) imapError(err error) error {
	if k := imapErrorKind(err); k != "" {
		m.imapErrors.WithLabelValues(k).Inc()
	}
	return err
}

// Source wraps an IMAP connector so that every error it and its sources
// return is counted by kind (imapmig_imap_errors_total). A connector that
// can test a login (migrate.ConnectionTester) still can.
func (m *Metrics) Source(c migrate.SourceConnector) migrate.SourceConnector {
	oc := observedConnector{c, m}
	if t, ok := c.(migrate.ConnectionTester); ok {
		return observedTester{oc, t}
	}
	return oc
}

type observedConnector struct {
	c migrate.SourceConnector
	m *Metrics
}

func (o observedConnector) Connect(ctx context.Context, l migrate.Login) (migrate.Source, error) {
	s, err := o.c.Connect(ctx, l)
	if err != nil {
		return nil, o.m.imapError(err)
	}
	return observedSource{s, o.m}, nil
}

type observedTester struct {
	observedConnector
	t migrate.ConnectionTester
}

func (o observedTester) Test(ctx context.Context, l migrate.Login) error {
	return o.m.imapError(o.t.Test(ctx, l))
}

type observedSource struct {
	s migrate.Source
	m *Metrics
}

func (o observedSource) Folders(ctx context.Context) ([]migrate.Folder, error) {
	fs, err := o.s.Folders(ctx)
	return fs, o.m.imapError(err)
}

func (o observedSource) Metas(ctx context.Context, f migrate.Folder, from, to uint32, fn func(migrate.MessageMeta) error) error {
	return o.m.imapError(o.s.Metas(ctx, f, from, to, fn))
}

func (o observedSource) ChangedSince(ctx context.Context, f migrate.Folder, modseq uint64, fn func(migrate.MessageMeta) error) error {
	return o.m.imapError(o.s.ChangedSince(ctx, f, modseq, fn))
}

func (o observedSource) UIDs(ctx context.Context, f migrate.Folder) ([]uint32, error) {
	u, err := o.s.UIDs(ctx, f)
	return u, o.m.imapError(err)
}

func (o observedSource) Fetch(ctx context.Context, f migrate.Folder, uid uint32) (migrate.Body, error) {
	b, err := o.s.Fetch(ctx, f, uid)
	return b, o.m.imapError(err)
}

// FetchBodies passes migrate.BodyBatcher through; a Source without it
// delivers nothing, and the engine fetches every body with Fetch.
func (o observedSource) FetchBodies(ctx context.Context, f migrate.Folder, uids []uint32, fn func(uint32, migrate.Body) error) error {
	bb, ok := o.s.(migrate.BodyBatcher)
	if !ok {
		return nil
	}
	return o.m.imapError(bb.FetchBodies(ctx, f, uids, fn))
}

func (o observedSource) Close() error { return o.s.Close() }
