// Package httpapi is imapmig's operator API: JSON over HTTP under /v1, served
// by the daemon (`imapmig serve`) and used by the CLI through Client.
//
// Every request but /healthz needs `Authorization: Bearer <token>`; the token
// comes from IMAPMIG_API_TOKEN or a file generated with mode 0600 in the data
// directory (LoadToken). Errors are `{"error":{"code":…,"message":…}}` with a
// status that says what went wrong (400 bad input, 401 no token, 404 unknown
// object, 409 an action the object's status does not allow).
//
// The package translates between HTTP and migrate.Engine only: it holds no
// state of its own and never sees a password in plain text except a CSV
// uploaded to create a batch, which it hands to the engine unread.
package httpapi
