package migrate

import (
	"time"
)

// LiveOptions are the engine options a config reload changes while the
// engine runs.
type LiveOptions struct {
	ReportSender   string
	ReportInterval time.Duration
	UserRetries    int // failed passes in a row before a user shows Failed
}

func (e *Engine) live() LiveOptions {
	e.liveMu.RLock()
	defer e.liveMu.RUnlock()
	return LiveOptions{ReportSender: e.opts.ReportSender, ReportInterval: e.opts.ReportInterval, UserRetries: e.opts.UserRetries}
}

// SetLiveOptions applies a reloaded config's report sender, report interval
// and failed-pass limit; zero values keep the defaults.
func (e *Engine) SetLiveOptions(o LiveOptions) {
	e.liveMu.Lock()
	e.opts.ReportSender, e.opts.ReportInterval = o.ReportSender, o.ReportInterval
	if o.UserRetries > 0 {
		e.opts.UserRetries = o.UserRetries
	}
	e.liveMu.Unlock()
	e.notify()
}

// ForgetAdapters drops the cached IMAP connectors of endpoints and Graph
// targets of tenants whose settings changed: the next pass builds them
// anew. Passes in flight finish with the ones they have.
func (e *Engine) ForgetAdapters(endpoints, tenants []string) {
	r := e.reg()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	for _, n := range endpoints {
		delete(r.sources, n)
	}
	for _, n := range tenants {
		delete(r.targets, n)
	}
}
