// Package graphemu is an HTTPS emulator of the Microsoft Graph v1.0 mail
// surface that imapmig writes to, and of the Entra ID token endpoint that
// azidentity asks for client-credential tokens. Tests run it in-process; the
// `imapmig emulator graph` subcommand runs it on a listen address for the
// demo and docker-compose.
//
// # What it is for
//
// It behaves as Exchange Online is documented to behave (docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online"), so that
// graphdst is tested against the rules that decide its design and not against
// a mock that agrees with it:
//
//   - JSON message creates are drafts unless `Integer 0x0E07` lacks the 0x8
//     bit; `SystemTime 0x0E06` sets receivedDateTime; extended properties are
//     kept verbatim; only `x-` internetMessageHeaders are accepted.
//   - MIME creates make a draft in Drafts; posted to a folder they fail with
//     400 UnableToDeserializePostBody.
//   - Request bodies above 4 MB get 413; attachments over 3 MB need upload
//     sessions (≤ 4 MB PUTs with Content-Range, no Authorization header).
//   - Folders: well-known names as ids, 409 ErrorFolderExists for a duplicate
//     sibling.
//   - Ids change on move unless `Prefer: IdType="ImmutableId"`.
//   - `POST …/messages/{id}/permanentDelete` removes an item for good
//     (MailboxDump.Purged counts them); extended properties are replaced by
//     PATCH and never removed, as Graph has no call for that
//     (MessageDump.Answered reads PidTagLastVerbExecuted 102/103).
//   - Throttling per app and mailbox: 4 concurrent requests, 10,000 requests
//     per 10 minutes, 150 MB of upload per 5 minutes, 429 with Retry-After;
//     throttled requests count. Options.TimeScale shrinks the windows.
//   - Fault injection: 503/504 without side effects, and "ambiguous" creates
//     that create the message but answer 504.
//
// The state of a mailbox can be inspected with Server.Dump or over HTTP at
// /_emu/mailboxes/{address}.
//
// # Choices not confirmed against Exchange Online
//
// Where the documentation is silent the emulator chose, and a real tenant
// should confirm:
//
//   - the error code of a 413 (RequestEntityTooLarge) and of an upload
//     session over 150 MB;
//   - a PATCH of `Integer 0x0E07` answers 400
//     ErrorInvalidPropertyUpdateSentMessage (the service may ignore it);
//   - a MIME create keeps only Subject, Message-ID and Date;
//   - `$filter` supports only the extended-property `Any(...)` form on
//     messages and `displayName eq` on folders; `$orderby` is ignored;
//   - `GET /users/{upn}` is not throttled (a directory call, not Outlook);
//   - a concurrency 429 always says `Retry-After: 1` in real seconds,
//     whatever the time scale.
//
// # What it must not do
//
// It must not import msgraph-sdk-go or any Graph client (it must build in
// seconds), and it must not be lenient where Graph is strict: when in doubt,
// it refuses. It holds all state in memory and is not a product component.
package graphemu
