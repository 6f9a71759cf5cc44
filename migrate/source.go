package migrate

import (
	"context"
	"io"
	"time"

	"github.com/imapmig/imapmig/state"
)

// Login is what a Source needs to open one user's mailbox. Password is a
// secret: it must never be logged, wrapped into an error or stored unsealed.
type Login struct {
	// UserName is the IMAP login name as given in the CSV. A master-user
	// login in Dovecot's form ("bob*admin") is just a UserName.
	UserName string
	// Password is the IMAP password (the master password for a master login).
	Password string
	// UserRoot, when set, is the folder below which the user's mail lives
	// (Courier/Oracle style shared layouts); folder paths are made relative
	// to it.
	UserRoot string
}

// String hides the password so a Login can never leak through %v.
func (l Login) String() string { return "Login{UserName:" + l.UserName + "}" }

// GoString hides the password from %#v too.
func (l Login) GoString() string { return l.String() }

// Folder is one IMAP mailbox as the engine sees it: its decoded path relative
// to the personal namespace (and UserRoot), and its sync-relevant status.
type Folder struct {
	// Path is the decoded folder name split at the server's delimiter, relative
	// to the personal namespace: INBOX is []string{"INBOX"}, "INBOX.Sent" on a
	// server with prefix "INBOX." is []string{"Sent"}. A "/" inside a
	// component is kept as part of the name.
	Path []string
	// Name is the full decoded name on the server (with delimiters and
	// namespace prefix), as needed to SELECT it.
	Name string
	// Delimiter is the server's hierarchy delimiter (0 when flat).
	Delimiter rune
	// SpecialUse is the RFC 6154 attribute ("\Sent", "\Drafts", "\Trash",
	// "\Junk", "\Archive", "\All", "\Flagged") or "" when none.
	SpecialUse string
	// NoSelect is true for folders that cannot hold messages (\Noselect,
	// \NonExistent); they become plain containers in the target.
	NoSelect bool

	UIDValidity   uint32
	UIDNext       uint32
	Messages      uint32
	HighestModSeq uint64 // 0 when the server lacks CONDSTORE
}

// MessageMeta is a message's metadata, fetched without its body.
type MessageMeta struct {
	UID          uint32
	Flags        []string // IMAP flags and keywords, without \Recent
	InternalDate time.Time
	Size         int64  // RFC822.SIZE
	ModSeq       uint64 // 0 without CONDSTORE
	// HeaderHash is HeaderHash(raw header block), computed by the Source.
	HeaderHash string
	// SourceKey is the content-derived key (docs/ARCHITECTURE.md, "The path of one message"): HeaderHash plus
	// "#N" for the N-th (N ≥ 2) exact duplicate within the folder in UID
	// order. The engine fills it (it knows the folder's other keys); a
	// Source leaves it empty.
	SourceKey string
	// Subject and Date are decoded from the header for skipped-item reports;
	// they may be empty.
	Subject string
	Date    time.Time
}

// Body is a spooled RFC 5322 message: held in memory below a threshold, in a
// temp file above it. It can be read any number of times.
type Body interface {
	// Open returns a fresh reader positioned at the first byte.
	Open() (io.ReadCloser, error)
	// Size is the number of bytes spooled.
	Size() int64
	// Close releases the spool (removes a temp file). It is idempotent.
	Close() error
}

// SourceConnector opens a user's mailbox on an IMAP endpoint.
type SourceConnector interface {
	Connect(ctx context.Context, login Login) (Source, error)
}

// Source is one open IMAP mailbox. It is not safe for concurrent use: the
// engine uses one Source per user at a time.
//
// # The contract, with and without each capability
//
// The engine runs the same pass on every IMAP4rev1 server; a missing
// extension may cost round trips, never correctness. migrate/sourcetest
// asserts exactly this contract, against every Source (imapsrc on real
// servers with full and bare capabilities, and the engine's own fake).
//
//   - Folders: every folder of the user's personal namespace, each once,
//     INBOX as Path ["INBOX"] whatever its case on the server. Path is
//     relative to the personal namespace: from NAMESPACE where offered,
//     otherwise derived from LIST (delimiter from LIST "" ""; a server
//     whose only top-level mailbox is INBOX and whose folders all sit below
//     it has the prefix "INBOX" + delimiter). UIDValidity, UIDNext and
//     Messages are set for every selectable folder: from LIST-STATUS in one
//     round trip where offered, else one STATUS per folder. A folder the
//     server refuses STATUS for (a \Noselect it did not mark, a broken
//     one) is reported with NoSelect set for this pass, not as an error.
//     SpecialUse is set only from SPECIAL-USE attributes (LIST RETURN
//     (SPECIAL-USE) needs LIST-EXTENDED; a plain LIST is used otherwise);
//     without them it is "" and the engine maps folders by name.
//     HighestModSeq is non-zero only when the server has CONDSTORE and the
//     folder has persistent mod-sequences (not NOMODSEQ); 0 means "cannot
//     tell flag changes from the status": the engine then scans the
//     folder's flags every pass.
//   - Metas: as documented below; ModSeq is 0 unless the folder has
//     mod-sequences. A UIDVALIDITY other than folder.UIDValidity is an
//     error wrapping ErrUIDValidityChanged; a folder that no longer exists
//     is an error wrapping ErrFolderGone. Both hold for every method that
//     takes a Folder.
//   - ChangedSince: reports at least every message whose flags changed
//     since modseq, in UID order. With CONDSTORE on a folder with
//     mod-sequences and modseq > 0 it is UID FETCH … (CHANGEDSINCE modseq)
//     and reports exactly those (ModSeq set). Otherwise (modseq == 0, no
//     CONDSTORE, or a NOMODSEQ folder) it reports the FLAGS of every
//     message of the folder (UID FETCH in chunks), with ModSeq 0: the
//     caller compares them with its state. It never fails for lack of
//     CONDSTORE. (A third-party Source may still return ErrNoCondStore;
//     the engine then asks again with modseq 0.)
//   - UIDs: the folder's current UID set, sorted: UID SEARCH RETURN (ALL)
//     with ESEARCH, a plain UID SEARCH ALL without. The engine diffs it
//     with its state to find expunges (QRESYNC is not used).
//   - Moves: a Source does not report moves. MOVE and COPY+EXPUNGE look
//     the same to the engine: a UID vanishes from one folder (UIDs) and a
//     new UID with the same HeaderHash appears in another (Metas); the
//     engine pairs them into a target move. Neither MOVE nor UIDPLUS is
//     needed.
//   - Fetch: the full body (BODY.PEEK[], \Seen untouched). A UID expunged
//     meanwhile is a KindSkipItem error wrapping ErrMessageGone.
//   - UIDVALIDITY changes, folders created, renamed or deleted between
//     calls are seen by the next Folders; a Source keeps no cache across
//     Folders calls that could hide them, and leaves the selected state
//     before listing (servers answer STATUS of the selected mailbox from
//     the session's stale view). One server cache is out of a Source's
//     reach: Dovecot's list index can hide, from a session that had it
//     selected, a folder deleted and created again under the same name by
//     another session, until a new connection. The engine opens a new
//     Source for every pass.
//   - Errors: a capability the Source cannot do without is a
//     *CapabilityError (permanent, KindFailUser), never a retryable error.
//     Lost connections are reconnected inside the Source; what it returns
//     after that is retryable.
type Source interface {
	// Folders lists every folder with its status in as few round trips as
	// the server allows (one with LIST-STATUS).
	Folders(ctx context.Context) ([]Folder, error)
	// Metas calls fn for every message of folder whose UID is in [from, to]
	// (to == 0 means no upper bound), in UID order, with HeaderHash, Subject
	// and Date filled from BODY.PEEK[HEADER]. It selects the folder as needed.
	Metas(ctx context.Context, folder Folder, from, to uint32, fn func(MessageMeta) error) error
	// ChangedSince calls fn, in UID order, with UID, FLAGS and MODSEQ of at
	// least every message whose flags changed since modseq: exactly those
	// (CHANGEDSINCE) where the folder has mod-sequences and modseq > 0,
	// otherwise every message of the folder with ModSeq 0 (see the contract
	// above). Only UID, Flags and ModSeq are set.
	ChangedSince(ctx context.Context, folder Folder, modseq uint64, fn func(MessageMeta) error) error
	// UIDs returns the folder's current UID set, sorted (ESEARCH where
	// available, plain UID SEARCH ALL otherwise).
	UIDs(ctx context.Context, folder Folder) ([]uint32, error)
	// Fetch spools the full body of one message. The caller closes the Body.
	Fetch(ctx context.Context, folder Folder, uid uint32) (Body, error)
	// Close logs out and releases the connection.
	Close() error
}

// UIDRange is the UIDs First to Last, both included.
type UIDRange = state.UIDRange

// UIDRanger is a Source that can give a folder's current UID set as
// ranges (sorted ascending, not overlapping): the form ESEARCH answers
// in, so a folder of a hundred thousand messages costs its few gaps, not
// a slice of every UID. The engine uses it, where a Source has it, in
// place of UIDs to find expunged messages; the contract is UIDs'.
type UIDRanger interface {
	UIDRanges(ctx context.Context, folder Folder) ([]UIDRange, error)
}

// BodyBatcher is an optional capability of a Source: the bodies of several
// messages of one folder in one command (one UID FETCH of a UID set), so
// that a mailbox of small messages costs the server one command and no
// round trip per message. FetchBodies calls fn with each body as it
// arrives, in the server's order (ascending UID for IMAP), on the caller's
// goroutine; fn owns the Body. A UID it does not deliver (expunged since,
// or the command ended early) is the caller's to fetch with Fetch, which
// says why. After an error fn may have been called for some UIDs.
type BodyBatcher interface {
	FetchBodies(ctx context.Context, folder Folder, uids []uint32, fn func(uid uint32, body Body) error) error
}

// ChangedBelower is a Source that can restrict ChangedSince to the UIDs
// below a bound: a delta asks for the flag changes of the messages it
// knows (below the folder's saved UIDNEXT), since the new messages'
// metadata comes from Metas anyway (UID FETCH 1:b-1 … (CHANGEDSINCE m)
// instead of 1:*: a 1% delta's 250 new messages are not answered twice).
// The contract is ChangedSince's for the UIDs below below; with modseq 0
// it is ChangedSince's (every message: the caller needs the UID set).
type ChangedBelower interface {
	ChangedSinceBelow(ctx context.Context, folder Folder, modseq uint64, below uint32, fn func(MessageMeta) error) error
}
