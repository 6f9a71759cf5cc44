// Package testmain is the TestMain of a test package that shares
// long-lived servers (testenv/dovecot.Shared, testenv/cyrus.Shared) between
// its tests: run the tests, then stop the servers that were started, then
// exit with the tests' code.
package testmain
