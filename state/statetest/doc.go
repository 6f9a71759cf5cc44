// Package statetest opens throwaway state stores for tests and checks the
// store's invariants when the test ends (as bbolt's btesting does).
package statetest
