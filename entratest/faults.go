package entratest

import (
	"net/http"
	"strings"
	"time"
)

// Fault changes the answer to matching requests.
type Fault struct {
	// Endpoint is "token" (the default), "instance_discovery",
	// "openid_configuration" or "imds_compute".
	Endpoint string
	// Host limits the fault to requests for this host; "" matches any.
	Host string
	// Times is how many matching requests it applies to; 0 means 1.
	Times int
	// Status, if not 0, replaces the answer's status.
	Status int
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
	// Delay holds the answer back (until the client goes away).
	Delay time.Duration
	// Body is sent as is; nil with Status ≥ 400 sends an ESTS-style error.
	Body        []byte
	ContentType string
}

// InjectFault queues a fault. Faults are matched in the order injected.
func (e *Emulator) InjectFault(f Fault) {
	if f.Endpoint == "" {
		f.Endpoint = "token"
	}
	if f.Times <= 0 {
		f.Times = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &f)
}

// takeFault consumes one use of the first matching fault. e.mu is held.
func (e *Emulator) takeFault(endpoint, host string) *Fault {
	for i, f := range e.faults {
		if f.Endpoint != endpoint || (f.Host != "" && !strings.EqualFold(f.Host, host)) {
			continue
		}
		f.Times--
		if f.Times == 0 {
			e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
		}
		cp := *f
		return &cp
	}
	return nil
}

// apply delays and, if the fault sets a status, answers in place of the
// endpoint. It reports whether it answered.
func (f *Fault) apply(w http.ResponseWriter, r *http.Request) bool {
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != nil {
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		w.Write(f.Body)
		return true
	}
	code, aadsts := "temporarily_unavailable", 90033
	if f.Status == http.StatusInternalServerError {
		code, aadsts = "server_error", 90004
	}
	if f.Status < 500 && f.Status != http.StatusTooManyRequests {
		code, aadsts = "invalid_request", 90000
	}
	writeError(w, r, f.Status, code, aadsts, "The service is unavailable (injected fault).")
	return true
}
