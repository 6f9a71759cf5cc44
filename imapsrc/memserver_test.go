package imapsrc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/memimap"
)

// memServer is go-imap's in-memory server on loopback (testenv/memimap).
type memServer struct{ *memimap.Server }

func startMemServer(t testing.TB) memServer {
	return startMemServerCaps(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}})
}

// startBareMemServer starts a server with IMAP4rev1 and no extension.
func startBareMemServer(t testing.TB) memServer { return startMemServerCaps(t, memimap.Bare()) }

func startMemServerCaps(t testing.TB, caps imap.CapSet) memServer {
	return memServer{memimap.Start(t, memimap.Options{Caps: caps})}
}

// startMemServerAuth: with insecureAuth false the server refuses to log in
// without TLS (LOGINDISABLED, no AUTH= mechanism), as many servers do.
func startMemServerAuth(t testing.TB, caps imap.CapSet, insecureAuth bool) memServer {
	return memServer{memimap.Start(t, memimap.Options{Caps: caps, RefuseInsecureAuth: !insecureAuth})}
}

func (m memServer) config() imapsrc.Config {
	return imapsrc.Config{Host: m.Host, Port: m.Port, Security: imapsrc.SecurityNone}
}

func TestConformance_MemServer(t *testing.T) {
	ms := startMemServer(t)
	c := newConnector(t, ms.config())
	sourcetest.Run(t, sourcetest.Options{Connector: c, Server: ms, CondStore: false, SpecialUse: false})
}

// TestConformance_BareIMAP4rev1 runs the suite on a server with no
// extension at all: the whole contract holds without CONDSTORE, ESEARCH,
// MOVE, UIDPLUS, NAMESPACE, LIST-STATUS and SPECIAL-USE.
func TestConformance_BareIMAP4rev1(t *testing.T) {
	ms := startBareMemServer(t)
	c := newConnector(t, ms.config())
	caps := imapsrc.Caps(connect(t, c, ms.NewUser(t)))
	for _, cp := range []imap.Cap{imap.CapCondStore, imap.CapESearch, imap.CapMove, imap.CapUIDPlus, imap.CapNamespace,
		imap.CapListStatus, imap.CapListExtended, imap.CapSpecialUse, imap.CapIMAP4rev2} {
		if caps.Has(cp) {
			t.Fatalf("the bare server announces %s", cp)
		}
	}
	sourcetest.Run(t, sourcetest.Options{Connector: c, Server: ms, CondStore: false, SpecialUse: false})
}

// TestConnect_CapabilityMissingIsPermanent: a server that cannot log us in
// the configured way (LOGINDISABLED without TLS, no AUTH=PLAIN for a master
// user) fails the user at once, naming the capability: never a retry loop.
func TestConnect_CapabilityMissingIsPermanent(t *testing.T) {
	ms := startMemServerAuth(t, imap.CapSet{imap.CapIMAP4rev1: {}}, false)
	for _, tc := range []struct {
		name, auth, master, capName string
	}{
		{"LOGINDISABLED", "login", "", "LOGIN"},
		{"MasterUserWithoutPLAIN", "plain", "admin", "AUTH=PLAIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ms.config()
			cfg.Auth, cfg.MasterUser = tc.auth, tc.master
			err := newConnector(t, cfg).Test(context.Background(), migrate.Login{UserName: "u", Password: "secret-pw"})
			var ce *migrate.CapabilityError
			if !errors.As(err, &ce) || ce.Capability != tc.capName || migrate.KindOf(err) != migrate.KindFailUser ||
				migrate.ReasonOf(err) != migrate.ReasonImapCapabilityMissing {
				t.Fatalf("err %v (kind %v, reason %q), want a permanent CapabilityError for %s", err, migrate.KindOf(err), migrate.ReasonOf(err), tc.capName)
			}
			if !strings.Contains(err.Error(), tc.capName) || strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("message %q: want the capability named and no password", err)
			}
		})
	}
}
