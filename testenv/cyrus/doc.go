// Package cyrus starts a real Cyrus IMAP 3.6 on 127.0.0.1 for tests: a
// self-contained imapd.conf and cyrus.conf in a temp dir, random ports for
// plain IMAP and implicit TLS, a self-signed certificate (CAPEM, CertPool,
// TLSConfig), users in a private sasldb (saslpasswd2 -f), an admin that can
// log in as any user (SASL PLAIN authzid; `admins` and `proxyservers`),
// INBOX and the special-use folders Sent, Drafts, Trash, Junk and Archive
// autocreated at a user's first login (autocreate_quota,
// autocreate_inbox_folders, xlist-*).
//
// # Binaries
//
// Debian's cyrus-imapd conflicts with dovecot-imapd (both provide
// imap-server), and the tests need both, so Cyrus is not installed: its
// packages are unpacked into a private directory (apt-get download
// cyrus-imapd cyrus-common; dpkg -x). testenv/install.sh does that, as
// root, into $XDG_CACHE_HOME/imapmig-testenv/cyrus-<version> (default
// ~/.cache/…), and installs the libraries Cyrus links against and sasl2-bin
// (saslpasswd2) with apt-get. Locate finds the tree: Options.Root, then
// $IMAPMIG_CYRUS_ROOT, then the cache, then a system-wide /usr/lib/cyrus.
// The configs name the unpacked binaries by absolute path (cyrus.conf
// commands get -C, because master does not pass its config on) and
// LD_LIBRARY_PATH points at the unpacked libcyrus*.
//
// When the binaries are missing, Shared.Get fails the test with the command
// that installs them when CI is set, and skips it otherwise.
//
// # Namespaces
//
// Options.Namespace selects the two layouts Cyrus offers: NamespaceAlt
// (altnamespace: 1, unixhierarchysep: 1, the 3.x default: "Sent",
// "Sent/2020") and NamespaceClassic (altnamespace: 0, unixhierarchysep: 0,
// the 2.x default: "INBOX.Sent", "INBOX.Sent.2020").
//
// # Caveats
//
//   - Cyrus writes its log to syslog only; Log returns master's own output
//     (-L), which shows start-up failures.
//   - As root, the services run as nobody (cyrus_user) and Dir is chowned to
//     it; as non-root, everything runs as the current user.
//   - Special-use attributes come in lower case (\sent).
//   - munge8bit is off: by default Cyrus stores 8-bit header bytes as 'X',
//     so a message would not read back as appended.
//   - CREATE of an existing folder answers NO without [ALREADYEXISTS].
//   - With NamespaceClassic no folder name may contain '.'.
package cyrus
