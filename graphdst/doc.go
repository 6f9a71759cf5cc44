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
//   - A message whose attachments do not fit the create request is built
//     in a hidden staging folder (isHidden: no client lists it) and moved
//     into its folder when every attachment is uploaded; the move keeps its
//     immutable id. A create that fails removes its item at once, and the
//     first large create or SweepPending of a pass purges what an
//     interrupted pass left in the staging folder. All of it uses
//     permanentDelete, never a soft DELETE (which moves the item into the
//     user's Deleted Items). Items under a "pending:" key, left in their
//     folder by earlier versions, are never reported and SweepPending
//     removes them.
//   - A message expunged at the source is removed with permanentDelete too
//     (Recoverable Items/Purges: out of the user's view, recoverable by an
//     administrator), so the target never shows in Deleted Items what the
//     source does not hold.
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
