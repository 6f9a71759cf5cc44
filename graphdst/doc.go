// Package graphdst is imapmig's Microsoft Graph destination: it implements
// migrate.Target and migrate.Mailbox on msgraph-sdk-go and azidentity.
//
// # Basics
//
// A message arrives as a spooled RFC 5322 stream. graphdst parses it
// leniently with mailparse (as a mail client reads broken mail; charsets
// through go-message) and creates it as JSON (never as MIME, which Graph turns into a
// draft; docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online"), with PidTagMessageFlags (0x0E07) without the unsent bit,
// the IMAP INTERNALDATE as delivery time (0x0E06), the Date header as submit
// time (0x0039), the original header block (0x007D), the threading
// properties, and the source key as a named extended property
// (SourceKeyProperty). Attachments that fit go inline in the create;
// larger ones go through upload sessions (≤ 4 MB PUTs, no Authorization
// header). S/MIME messages (pkcs7 only) are kept whole as an smime.p7m
// attachment. The body is what a client shows (internal/convert): the
// richest alternative, inline text parts in order; a meeting invite keeps
// one .ics; a PGP/MIME signature is kept as signature.asc; a repaired
// message is noted RepairedMime. Only a parser panic (recovered) stores a
// message as a text note with the original as original.eml.
//
// Every request carries Prefer: IdType="ImmutableId". Each mailbox has a
// governor: at most Budget.Concurrency requests in flight, sliding windows for
// request count and upload bytes under Exchange Online's limits, and a fence
// raised by a 429 that holds every request of that mailbox until Retry-After.
// The governor owns waiting: throttling never fails a user.
//
// # Caveats
//
//   - kiota's RetryHandler is removed and request compression is off (the
//     SDK's default order can send a retried POST gzip-labelled but
//     uncompressed, and its retry of a 504 create makes duplicates). A create
//     whose outcome is unknown (5xx, timeout, reset) is resolved by looking
//     its source key up before any retry.
//   - The configured Graph host is passed as a valid host to kiota's
//     authentication, otherwise the token is silently dropped; a custom
//     authority host sets DisableInstanceDiscovery.
//   - A large message is created under "pending:"+key and gets its real key
//     only when every attachment is uploaded; Keys and LookupKey never report
//     a pending item. A create that fails removes its pending item at once,
//     Create removes one left by an interrupted attempt, and SweepPending
//     (called by the engine on a folder whose state is not trusted) removes
//     those whose source message is gone. All three use permanentDelete,
//     never a soft DELETE (which would put them in Deleted Items).
//   - \Answered is PidTagLastVerbExecuted (0x1081) = 102; Graph cannot remove
//     an extended property, so clearing it sets 0.
//
// # What it must not do
//
// It knows nothing of IMAP. It must never log or wrap a client secret or
// token into an error, never let the SDK retry a create, and never
// classify errors by their text: Graph error bodies are parsed into
// *GraphError with the Graph code.
package graphdst
