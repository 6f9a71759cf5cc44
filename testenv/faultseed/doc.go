// Package faultseed gives fault-injection tests their random positions
// (where to cut, kill or stall) from one logged seed, so that a failure can
// be replayed: IMAPMIG_FAULT_SEED=N reruns a logged run. Each test (and
// subtest) draws from its own stream, derived from its name, so one test
// run alone (-run) replays the same positions.
package faultseed
