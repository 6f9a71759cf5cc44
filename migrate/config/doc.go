// Package config reads and validates imapmig's YAML configuration: the data
// directory, the API listen address, IMAP endpoints, Graph tenants and the
// batches the daemon creates when it starts or reloads (SIGHUP).
//
// Every key is known: an unknown key or an invalid value is rejected with the
// key's path (for example "endpoints[0].security"). Secrets never live in the
// YAML: a tenant names an environment variable or a file that holds its
// client secret, and users' IMAP passwords come from the batch CSV.
//
// The package only parses and validates; it opens no connection and touches
// no state.
package config
