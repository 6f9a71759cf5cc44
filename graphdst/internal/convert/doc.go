// Package convert turns a raw RFC 5322 message into the JSON of a Microsoft
// Graph message create (docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online"): the body a mail client shows, the
// attachments, the extended properties (flags, delivery and submit times,
// the original header block, threading), and a Plan of which attachments go
// in the create, which are POSTed one by one and which need an upload
// session.
//
// It does no I/O and imports neither msgraph-sdk-go nor net/http, so that
// FuzzConvert builds and runs in seconds. graphdst sends what it returns.
package convert
