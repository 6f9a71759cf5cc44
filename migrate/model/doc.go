// Package model holds the migration's domain types: batch and user
// statuses, batch options, the batch and user records with the figures the
// API shows, endpoints, tenants, skipped items and events. The engine
// (migrate) works with them, the state package stores them, and the API,
// the CLI and the web console show them; none of those needs the storage
// package for a type. JSON field names here are the API's and the state
// file's: they never change.
package model
