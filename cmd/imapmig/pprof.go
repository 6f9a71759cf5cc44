package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// profileListenEnv names the environment variable that, when set to a
// HOST:PORT, makes any imapmig process serve Go's profiler (/debug/pprof/)
// there. It is for the benchmarks (docs/BENCHMARKS.md) and for diagnosing
// a slow daemon; nothing listens when it is unset. Bind it to loopback: the
// profiles carry no passwords but do show the process's internals.
const profileListenEnv = "IMAPMIG_PPROF_LISTEN"

func init() {
	addr := os.Getenv(profileListenEnv)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			slog.Error("profiler listener", "addr", addr, "err", err)
		}
	}()
}
