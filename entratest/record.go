package entratest

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Request is a recorded request.
type Request struct {
	Time time.Time
	// Endpoint names what was called (see the package comment).
	Endpoint string
	Method   string
	// Host is the Host header, lower-cased.
	Host string
	Path string
	// RawQuery is the query exactly as sent, to check its encoding.
	RawQuery string
	Query    url.Values
	Header   http.Header
	// Form is the decoded POST form.
	Form url.Values
	// ClientCertificate is the certificate the client presented in the TLS
	// handshake; nil if none.
	ClientCertificate *x509.Certificate
	// ClientAuth is how a token request authenticates its client, whether
	// or not that succeeds: "secret", "certificate" (an assertion the
	// client signed), "federated" (an assertion of another issuer),
	// "certificate_tls" (the TLS client certificate alone, on an mTLS
	// endpoint) or "" (none, or another endpoint).
	ClientAuth string
}

// Fault changes the answer to the requests it matches.
type Fault struct {
	// Endpoint limits the fault to one endpoint (see the package comment);
	// "" matches every endpoint.
	Endpoint string
	// Host limits the fault to requests for this host; "" matches any.
	Host string
	// Times is how many matching requests it applies to; 0 means 1.
	Times int
	// Delay holds the answer back (until the client goes away).
	Delay time.Duration
	// Hold, if not nil, holds the answer back until it is closed (or the
	// client goes away).
	Hold <-chan struct{}
	// Status, if not 0, replaces the answer: with Body if set, else with an
	// error in the endpoint's own shape (an ESTS error from the token
	// service, the source's error from a managed identity endpoint).
	Status int
	// Body, if not nil, replaces the answer's body, with Status or 200
	// (malformed JSON, a captive portal's page, ...).
	Body []byte
	// ContentType is the Content-Type of Body; "" means application/json.
	ContentType string
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
	// Drop closes the connection without an answer, as a TLS reset does
	// (after Delay and Hold).
	Drop bool
	// Header holds more headers to send with the fault's answer (e.g.
	// WWW-Authenticate, Location).
	Header http.Header
}

// InjectFault queues a fault. A request takes the first fault it matches,
// in the order injected.
func (e *Emulator) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &f)
}

// Requests returns the requests received, in order: those to the named
// endpoints, or every one if none is named.
func (e *Emulator) Requests(endpoint ...string) []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Request
	for _, r := range e.requests {
		if len(endpoint) == 0 || slices.Contains(endpoint, r.Endpoint) {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests and the faults not used up.
func (e *Emulator) ResetRequests() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests, e.faults = nil, nil
}

// endpoint serves h as the named endpoint: it records the request,
// applies the first matching fault, and refuses a malformed form or query
// before h sees it, answering these itself in the listener's shape.
func (e *Emulator) endpoint(name string, shape errorShape, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.enter() {
			panic(http.ErrAbortHandler) // closing: drop the connection, as a stopped server does
		}
		defer e.handlers.Done()
		formErr := r.ParseForm() // so that the record holds the form
		if e.record(r, name).apply(e, w, r, name, shape) {
			return
		}
		if formErr != nil {
			shape.malformed(w, r, name)
			return
		}
		h(w, r)
	})
}

// record stores a request and takes the fault to apply to it, if any.
func (e *Emulator) record(r *http.Request, endpoint string) *Fault {
	rec := Request{
		Time: e.opts.Now(), Endpoint: endpoint, Method: r.Method, Host: strings.ToLower(r.Host),
		Path: r.URL.Path, RawQuery: r.URL.RawQuery, Query: r.URL.Query(), Header: r.Header.Clone(), Form: r.PostForm,
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		rec.ClientCertificate = r.TLS.PeerCertificates[0]
	}
	if endpoint == epToken {
		rec.ClientAuth = clientAuthKind(r)
	}
	e.mu.Lock()
	e.requests = append(e.requests, rec)
	f := e.takeFault(rec)
	e.mu.Unlock()
	if e.opts.OnRequest != nil {
		e.opts.OnRequest(rec)
	}
	return f
}

// takeFault uses up one application of the first fault matching rec.
// e.mu is held.
func (e *Emulator) takeFault(rec Request) *Fault {
	for i, f := range e.faults {
		if (f.Endpoint != "" && f.Endpoint != rec.Endpoint) || (f.Host != "" && !strings.EqualFold(f.Host, rec.Host)) {
			continue
		}
		if f.Times--; f.Times == 0 {
			e.faults = slices.Delete(e.faults, i, i+1)
		}
		cp := *f
		return &cp
	}
	return nil
}

// apply holds the answer back and, if the fault replaces it, answers. It
// reports whether the request is done with: answered, or abandoned by the
// client.
func (f *Fault) apply(e *Emulator, w http.ResponseWriter, r *http.Request, endpoint string, shape errorShape) bool {
	if f == nil {
		return false
	}
	if !e.hold(r, f) {
		return true
	}
	if f.Drop {
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 && f.Body == nil {
		return false
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Body == nil {
		shape.fault(w, r, endpoint, status)
		return true
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(f.Body)
	return true
}

// hold waits out the fault's Delay and Hold. It reports false if the
// client went away first; it aborts the request if the emulator closes.
func (e *Emulator) hold(r *http.Request, f *Fault) bool {
	var timer <-chan time.Time
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		timer = t.C
	}
	release := f.Hold
	for timer != nil || release != nil {
		select {
		case <-timer:
			timer = nil
		case <-release:
			release = nil
		case <-r.Context().Done():
			return false
		case <-e.closed:
			// Drop the connection rather than let an empty answer out.
			panic(http.ErrAbortHandler)
		}
	}
	return true
}
