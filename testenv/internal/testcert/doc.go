// Package testcert makes the self-signed server certificates of the test
// servers in testenv.
package testcert
