// Package csvbatch parses and validates the CSV file that defines a
// migration batch (docs/ARCHITECTURE.md, "Objects and statuses"). It follows the rules of
// Exchange Online's IMAP migration CSV, which operators already know.
//
// The package only parses and validates. It never touches state, the
// network or the daemon, and it keeps nothing between calls: it turns bytes
// into a [Result] (the valid users and the problems of the bad rows) or
// rejects the file whole with a [*FileError].
//
// # Basics
//
// The first non-blank record is the header. It must name the columns
// EmailAddress, UserName and Password, and may name UserRoot; names match
// case-insensitively, in any order, trimmed of surrounding spaces. Any other
// column rejects the file ([ErrUnknownColumn]), as does a header without a
// required column ([ErrMissingHeader]). The file is UTF-8, with or without a
// byte order mark, comma-separated, quoted as RFC 4180 (encoding/csv).
// Lines end in LF, CRLF or a lone CR (Excel for Mac's "CSV (Macintosh)");
// a lone CR counts as a line break, also inside a quoted field.
//
// A file is rejected whole when it is larger than [MaxBytes]
// ([ErrTooLarge]), has more than [MaxRows] data rows ([ErrTooManyRows]), is
// empty or has no data rows ([ErrEmpty]), is not valid UTF-8 ([ErrNotUTF8])
// or cannot be parsed as CSV ([ErrMalformed]). Use errors.Is with the
// sentinels, or errors.As with *FileError to read the code and message.
//
// Otherwise every data row is checked and a bad row becomes one or more
// [Problem]s, each with the row's line number (the physical line in the file
// where the record starts; the header is line 1 when it is the first line),
// the column and a code:
//
//   - InvalidEmailAddress: empty, or not a bare addr-spec (no display name,
//     no angle brackets, no comments), or a domain that is neither a dotted
//     domain name nor a single valid label;
//   - EmptyUserName, EmptyPassword: empty after trimming (a Password made of
//     spaces only counts as empty);
//   - ColumnCount: the row has a different number of fields than the header
//     (the row is not interpreted further);
//   - DuplicateEmailAddress: the address (compared case-insensitively) was
//     already used by an earlier row; the message names that row's line.
//     The first occurrence owns the address and stays valid if nothing else
//     is wrong with it.
//
// Valid rows are returned in [Result.Users] alongside the problems, so the
// caller decides: reject the batch when [Result.Valid] is false (the
// default), or create it from Users only (--skip-invalid-rows).
//
// Fields are trimmed of surrounding white space, except Password, which is
// kept verbatim (passwords may contain spaces). EmailAddress keeps its
// original case in the User; only the duplicate check folds case. Blank
// lines, and rows whose fields are all blank (as spreadsheets export them),
// are ignored and not counted as rows.
//
// # Caveats
//
// Passwords never appear in a Problem, a FileError, or the output of
// User's String, GoString, Format or LogValue methods. No message quotes a
// field's content at all (a row with shifted columns could carry a password
// in any column); problems name the line and the column instead. The one
// exception is an unknown header column, whose name is quoted, shortened,
// in the error: it is header text, not data.
//
// User has no MarshalJSON: encoding/json will serialise the password, which
// callers that send users over the wire need. Do not log a User as JSON
// through anything but log/slog (which uses LogValue).
//
// Parse reads at most MaxBytes+1 bytes from its reader, so a huge file is
// rejected without being read whole; ParseFile stats a regular file first
// and does not read it at all when it is too large. The accepted file is
// held in memory (at most 10 MB) while it is parsed.
package csvbatch
