// Package mailparse reads real-world RFC 5322 / MIME messages the way a mail
// client does: leniently. It splits a message into a tree of parts, decodes
// transfer encodings and charsets, and records every repair it had to make
// instead of failing.
//
// # What it does
//
//   - ReadHeader parses a header block and never fails: a line without a
//     colon that is followed by more header fields is skipped, unless it
//     continues a parameter list (joined to the field before it); one that
//     is not followed by fields starts the body (a missing blank line); a
//     first line that starts with whitespace is read as a field; an mbox
//     "From " line is skipped.
//   - Parse builds the part tree. An invalid Content-Type is text/plain
//     (RFC 2045 §5.2). A multipart whose body cannot be split (no boundary
//     parameter, or no delimiter line) is text/plain. A multipart whose
//     closing delimiter is missing keeps every part read, the last one
//     running to the end. Parts of multipart/digest default to
//     message/rfc822 (RFC 2046 §5.1.5).
//   - Part.Decoded undoes base64 and quoted-printable leniently (stray bytes
//     are skipped, a truncated tail is decoded as far as it goes); Part.Text
//     converts a text part's charset to UTF-8 (an unknown or wrong charset
//     falls back to UTF-8 if valid, else an HTML part's <meta> charset,
//     else Windows-1252).
//
// # What it must not do
//
// It knows nothing of IMAP or Graph and never invents content: what cannot
// be decoded is returned as the original bytes. It must not panic on any
// input; the fuzz target in graphdst checks that through the conversion.
package mailparse
