package entraotel_test

import (
	"net/url"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

const (
	acquireClient = "entra.acquire_token client_credentials"
	acquireMI     = "entra.acquire_token managed_identity"

	// The metric points of a client credentials miss and hit.
	missDuration  = "entra.cache.refresh_reason=no_cached_token,entra.flow=client_credentials,entra.token.source=identity_provider,entra.token.type=Bearer"
	missOutcome   = "entra.flow=client_credentials,entra.outcome=success,entra.token.source=identity_provider"
	missRemaining = "entra.flow=client_credentials,entra.token.source=identity_provider"
	hitDuration   = "entra.flow=client_credentials,entra.token.source=cache,entra.token.type=Bearer"
	hitOutcome    = "entra.flow=client_credentials,entra.outcome=success,entra.token.source=cache"
	hitRemaining  = "entra.flow=client_credentials,entra.token.source=cache"
	postOK        = "http.request.method=POST,http.response.status_code=200,server.address=login.microsoftonline.com"
)

var forClient = confidential.TokenRequest{Scopes: []string{graph}}

// isChild reports whether s is a child of parent.
func isChild(s sdktrace.ReadOnlySpan, parent trace.SpanContext) bool {
	return s.Parent().SpanID() == parent.SpanID() && s.SpanContext().TraceID() == parent.TraceID()
}

func TestAMissIsAnAcquisitionSpanAroundARequestSpan(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	ctx, caller := h.caller(t)
	if _, err := h.confidential(t).AcquireTokenForClient(ctx, forClient); err != nil {
		t.Fatal(err)
	}
	spans := h.ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the request's and the acquisition's", len(spans))
	}
	post, acq := spans[0], spans[1]
	if acq.Name() != acquireClient || acq.SpanKind() != trace.SpanKindInternal || !isChild(acq, caller.SpanContext()) || acq.Status().Code != codes.Unset {
		t.Errorf("acquisition span %q, kind %s, status %v, parent %s", acq.Name(), acq.SpanKind(), acq.Status(), acq.Parent().SpanID())
	}
	if got, want := attrs(acq.Attributes()), "entra.cache.refresh_reason=no_cached_token,entra.coalesced=false,entra.flow=client_credentials,entra.token.source=identity_provider,entra.token.type=Bearer"; got != want {
		t.Errorf("acquisition attributes\n got %s\nwant %s", got, want)
	}
	if post.Name() != "POST" || post.SpanKind() != trace.SpanKindClient || !isChild(post, acq.SpanContext()) || post.Status().Code != codes.Unset {
		t.Errorf("request span %q, kind %s, status %v: want a child of the acquisition", post.Name(), post.SpanKind(), post.Status())
	}
	if got, want := attrs(post.Attributes()), "http.request.method=POST,http.response.status_code=200,server.address=login.microsoftonline.com,url.full="+tokenURL; got != want {
		t.Errorf("request attributes\n got %s\nwant %s", got, want)
	}
	if got := h.em.Requests("token")[0].Header.Get("traceparent"); got != traceparent(post) {
		t.Errorf("the token service got traceparent %q, want the request span's %q", got, traceparent(post))
	}
	wantPoints(t, h.metrics(t), map[string]points{
		"entra.token.acquisition.duration": {missDuration: 1},
		"entra.token.acquisitions":         {missOutcome: 1},
		"entra.token.remaining_lifetime":   {missRemaining: 1},
		"http.client.request.duration":     {postOK: 1},
		"entra.token.coalesced":            nil,
		"entra.token.proactive_refreshes":  nil,
	})
}

func TestAHitIsTracedOnlyInsideARecordingSpan(t *testing.T) {
	t.Parallel()
	for _, traced := range []bool{false, true} {
		name := map[bool]string{false: "untraced", true: "traced"}[traced]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, entratest.Options{})
			c := h.confidential(t)
			ctx, caller := t.Context(), trace.Span(nil)
			if traced {
				ctx, caller = h.caller(t)
			}
			if _, err := c.AcquireTokenForClient(ctx, forClient); err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			if tok, err := c.AcquireTokenForClient(ctx, forClient); err != nil || !tok.FromCache {
				t.Fatalf("%v, from cache %t: want a hit", err, tok.FromCache)
			}
			hits := h.ended()[2:]
			if !traced {
				if len(hits) != 0 {
					t.Fatalf("an untraced hit made %d spans", len(hits))
				}
			} else {
				checkHitSpan(t, hits, caller, before)
			}
			wantPoints(t, h.metrics(t), map[string]points{
				"entra.token.acquisition.duration": {missDuration: 1, hitDuration: 1},
				"entra.token.acquisitions":         {missOutcome: 1, hitOutcome: 1},
				"entra.token.remaining_lifetime":   {missRemaining: 1, hitRemaining: 1},
				"http.client.request.duration":     {postOK: 1},
			})
		})
	}
}

// checkHitSpan: the hit is one span in the caller's, dated back by its
// duration, and the caller's span is left to the caller.
func checkHitSpan(t *testing.T, hits []sdktrace.ReadOnlySpan, caller trace.Span, before time.Time) {
	t.Helper()
	if len(hits) != 1 {
		t.Fatalf("a traced hit made %d spans, want 1", len(hits))
	}
	hit := hits[0]
	if hit.Name() != acquireClient || !isChild(hit, caller.SpanContext()) || hit.StartTime().Before(before) ||
		hit.EndTime().Before(hit.StartTime()) || hit.EndTime().Sub(hit.StartTime()) > time.Second {
		t.Errorf("hit span %q from %s to %s (call at %s), parent %s", hit.Name(), hit.StartTime(), hit.EndTime(), before, hit.Parent().SpanID())
	}
	if got, want := attrs(hit.Attributes()), "entra.flow=client_credentials,entra.token.source=cache,entra.token.type=Bearer"; got != want {
		t.Errorf("hit attributes\n got %s\nwant %s", got, want)
	}
	if !caller.IsRecording() {
		t.Error("the caller's span was ended")
	}
}

func TestCoalescedCallersShareOneRequestSpan(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	c := h.confidential(t)
	release := make(chan struct{})
	h.em.InjectFault(entratest.Fault{Endpoint: "token", Hold: release})
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := c.AcquireTokenForClient(t.Context(), forClient); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "the callers", func() bool {
		started := 0
		for _, s := range h.spans.Started() {
			if s.Name() == acquireClient {
				started++
			}
		}
		return started == 5 && len(h.em.Requests("token")) == 1
	})
	time.Sleep(20 * time.Millisecond) // from their span to the shared request
	close(release)
	wg.Wait()

	acqs, posts := h.named(acquireClient), h.named("POST")
	var leaders []sdktrace.ReadOnlySpan
	for _, s := range acqs {
		if attr(s, "entra.coalesced") == "false" {
			leaders = append(leaders, s)
		}
	}
	if len(acqs) != 5 || len(leaders) != 1 || len(posts) != 1 {
		t.Fatalf("%d acquisition spans (%d not coalesced), %d request spans; want 5 (1), 1", len(acqs), len(leaders), len(posts))
	}
	if !isChild(posts[0], leaders[0].SpanContext()) {
		t.Error("the request span is not a child of the leader's acquisition span")
	}
	wantPoints(t, h.metrics(t), map[string]points{
		"entra.token.coalesced":        {"entra.flow=client_credentials": 4},
		"entra.token.acquisitions":     {missOutcome: 5},
		"http.client.request.duration": {postOK: 1},
	})
}

func TestAProactiveRefreshIsATraceOfItsOwn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{RefreshIn: time.Second, TokenLifetime: time.Hour})
	c := h.confidential(t)
	if _, err := c.AcquireTokenForClient(t.Context(), forClient); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	ctx, caller := h.caller(t)
	if _, err := c.AcquireTokenForClient(ctx, forClient); err != nil { // a hit, which starts the refresh
		t.Fatal(err)
	}
	refresh := func() []sdktrace.ReadOnlySpan {
		return h.named(acquireClient)[1:] // after the miss
	}
	waitFor(t, "the refresh", func() bool { return len(refresh()) == 2 && len(h.named("POST")) == 2 })
	var bg sdktrace.ReadOnlySpan
	for _, s := range refresh() {
		if attr(s, "entra.cache.refresh_reason") == "proactive_refresh" {
			bg = s
		}
	}
	if bg == nil || bg.Parent().IsValid() || bg.SpanContext().TraceID() == caller.SpanContext().TraceID() || bg.Status().Code != codes.Unset {
		t.Fatalf("refresh span %v: want a root span of a trace of its own", bg)
	}
	if post := h.named("POST")[1]; !isChild(post, bg.SpanContext()) {
		t.Error("the refresh's request is not a child of its span")
	}
	wantPoints(t, h.metrics(t), map[string]points{
		"entra.token.proactive_refreshes": {"entra.flow=client_credentials,entra.outcome=success": 1},
		"entra.token.acquisitions":        {missOutcome: 1, hitOutcome: 1}, // the refresh is not a caller's
		"entra.token.acquisition.duration": {missDuration: 1, hitDuration: 1,
			"entra.cache.refresh_reason=proactive_refresh,entra.flow=client_credentials,entra.token.source=identity_provider,entra.token.type=Bearer": 1},
	})
}

func TestARegionalAcquisitionNamesItsRegion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	c := h.confidential(t, func(cfg *confidential.Config) { cfg.Region = "westus2" })
	if _, err := c.AcquireTokenForClient(t.Context(), forClient); err != nil {
		t.Fatal(err)
	}
	acqs, posts := h.named(acquireClient), h.named("POST")
	if len(acqs) != 1 || len(posts) != 1 {
		t.Fatalf("%d acquisition spans, %d request spans: want one of each", len(acqs), len(posts))
	}
	if got := attr(acqs[0], "entra.region"); got != "westus2" {
		t.Errorf("entra.region %q, want westus2", got)
	}
	if got := attr(posts[0], "server.address"); got != "westus2.login.microsoft.com" {
		t.Errorf("server.address %q, want the regional host", got)
	}
}

func TestAManagedIdentityAcquisitionNamesItsSource(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	ctx, _ := h.caller(t)
	req := managedidentity.TokenRequest{Resource: "https://management.azure.com"}
	if _, err := h.managedIdentity(t).AcquireToken(ctx, req); err != nil {
		t.Fatal(err)
	}
	acqs, gets := h.named(acquireMI), h.named("GET")
	if len(acqs) != 1 || len(gets) != 1 || !isChild(gets[0], acqs[0].SpanContext()) {
		t.Fatalf("%d acquisition spans, %d request spans: want one of each, the request inside", len(acqs), len(gets))
	}
	if got, want := attrs(acqs[0].Attributes()), "entra.cache.refresh_reason=no_cached_token,entra.coalesced=false,entra.flow=managed_identity,entra.managed_identity.source=imds,entra.token.source=identity_provider,entra.token.type=Bearer"; got != want {
		t.Errorf("acquisition attributes\n got %s\nwant %s", got, want)
	}
	imds, _ := url.Parse(h.em.IMDSURL())
	if attr(gets[0], "server.address") != imds.Hostname() || attr(gets[0], "server.port") != imds.Port() {
		t.Errorf("request to %s:%s, want %s", attr(gets[0], "server.address"), attr(gets[0], "server.port"), imds.Host)
	}
	if got := h.em.Requests("imds")[0].Header.Get("traceparent"); got != traceparent(gets[0]) {
		t.Errorf("IMDS got traceparent %q, want the request span's %q", got, traceparent(gets[0]))
	}
	wantPoints(t, h.metrics(t), map[string]points{
		"entra.token.acquisition.duration": {"entra.cache.refresh_reason=no_cached_token,entra.flow=managed_identity,entra.managed_identity.source=imds,entra.token.source=identity_provider,entra.token.type=Bearer": 1},
		"http.client.request.duration":     {"http.request.method=GET,http.response.status_code=200,server.address=" + imds.Hostname() + ",server.port=" + imds.Port(): 1},
	})
}

// TestWhatWasStartedIsEnded: an acquisition that went to the network ends
// its own span even when it found the token in the cache (another flight
// or process stored it), and a hit inside an acquisition (a credential
// that gets its assertion from another client) ends none.
func TestWhatWasStartedIsEnded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	miss := entra.Acquisition{Flow: "client_credentials", Reason: "no_cached_token", TokenType: entra.TokenTypeBearer}
	ctx := h.obs.StartAcquisition(t.Context(), miss)
	inner := entra.Acquisition{Flow: "managed_identity", FromCache: true, TokenType: entra.TokenTypeBearer}
	h.obs.EndAcquisition(ctx, inner)
	if !trace.SpanFromContext(ctx).IsRecording() {
		t.Fatal("a hit ended the acquisition it happened in")
	}
	miss.FromCache = true
	h.obs.EndAcquisition(ctx, miss)
	spans := h.ended()
	if len(spans) != 2 || spans[0].Name() != acquireMI || spans[1].Name() != acquireClient || !isChild(spans[0], spans[1].SpanContext()) {
		t.Fatalf("spans %v: want the hit inside the acquisition", spans)
	}
	if got := attr(spans[1], "entra.token.source"); got != "cache" {
		t.Errorf("token source %q, want cache", got)
	}
}
