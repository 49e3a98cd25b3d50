package authority

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

// fakeIMDS is a plain-HTTP server answering compute metadata as Azure IMDS
// does, counting the requests it gets.
type fakeIMDS struct {
	srv      *httptest.Server
	calls    atomic.Int32
	location string        // "" answers without a location
	status   int           // 0 means 200
	body     string        // overrides the JSON answer when set
	release  chan struct{} // when set, answers wait for it (or for the client to give up)
	arrived  chan struct{} // when set, closed on the first request
	once     sync.Once
}

func newFakeIMDS(t *testing.T, f *fakeIMDS) *fakeIMDS {
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.arrived != nil {
			f.once.Do(func() { close(f.arrived) })
		}
		if f.release != nil {
			select {
			case <-f.release:
			case <-r.Context().Done():
				return
			}
		}
		if r.Method != http.MethodGet || r.URL.Path != "/metadata/instance/compute" ||
			r.URL.Query().Get("api-version") != "2021-02-01" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad request. api-version was not specified"})
			return
		}
		if r.Header.Get("Metadata") != "true" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad request. Required metadata header not specified"})
			return
		}
		switch {
		case f.status != 0 && f.status != http.StatusOK:
			w.WriteHeader(f.status)
		case f.body != "":
			w.Write([]byte(f.body))
		default:
			writeJSON(w, http.StatusOK, map[string]string{"location": f.location, "name": "vm1", "vmSize": "Standard_D2s_v5"})
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestValidRegion(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"eastus": true, "WestUS2": true, "usgovvirginia": true, "1": true,
		"": false, "west us": false, "west-us": false, "west_us": false, "westus.": false, "wéstus": false, "auto!": false,
	}
	for name, want := range tests {
		if got := ValidRegion(name); got != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRegionSelection(t *testing.T) {
	t.Parallel()
	const global = "https://login.microsoftonline.com/t/oauth2/v2.0/token"
	regional := func(r string) string { return "https://" + r + ".login.microsoft.com/t/oauth2/v2.0/token" }
	tests := []struct {
		name       string
		region     string
		getenv     func(string) string
		imds       *fakeIMDS // nil: an IMDS that must not be called
		notRegion  bool      // the flow may not use a region
		wantRegion string
		wantIMDS   int32
	}{
		{name: "none", wantRegion: ""},
		{name: "explicit", region: "EastUS", wantRegion: "eastus"},
		{name: "explicit, flow not regional", region: "eastus", notRegion: true, wantRegion: ""},
		{name: "forced when none configured", getenv: env("MSAL_FORCE_REGION", "WestUS"), wantRegion: "westus"},
		{name: "explicit beats forced", region: "eastus", getenv: env("MSAL_FORCE_REGION", "westus"), wantRegion: "eastus"},
		{name: "auto beats forced", region: "auto", getenv: env("MSAL_FORCE_REGION", "westus", "REGION_NAME", "northeurope"), wantRegion: "northeurope"},
		{name: "invalid forced ignored", getenv: env("MSAL_FORCE_REGION", "west us!"), wantRegion: ""},
		{name: "forced auto detects", getenv: env("MSAL_FORCE_REGION", "auto", "REGION_NAME", "uksouth"), wantRegion: "uksouth"},
		{name: "auto: REGION_NAME beats IMDS", region: "auto", getenv: env("REGION_NAME", "West US 2"), imds: &fakeIMDS{location: "northeurope"}, wantRegion: "westus2"},
		{name: "auto: invalid REGION_NAME, then IMDS", region: "Auto", getenv: env("REGION_NAME", "west-us"), imds: &fakeIMDS{location: "northeurope"}, wantRegion: "northeurope", wantIMDS: 1},
		{name: "auto: IMDS", region: "auto", imds: &fakeIMDS{location: "NorthEurope"}, wantRegion: "northeurope", wantIMDS: 1},
		{name: "auto: IMDS error", region: "auto", imds: &fakeIMDS{status: http.StatusInternalServerError}, wantRegion: "", wantIMDS: 1},
		{name: "auto: IMDS not JSON", region: "auto", imds: &fakeIMDS{body: "<html>"}, wantRegion: "", wantIMDS: 1},
		{name: "auto: IMDS without location", region: "auto", imds: &fakeIMDS{}, wantRegion: "", wantIMDS: 1},
		{name: "auto: IMDS invalid location", region: "auto", imds: &fakeIMDS{location: "east-us"}, wantRegion: "", wantIMDS: 1},
		{name: "auto: flow not regional, no detection", region: "auto", imds: &fakeIMDS{location: "northeurope"}, notRegion: true, wantRegion: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imds := tt.imds
			if imds == nil {
				imds = &fakeIMDS{location: "mustnotbecalled"}
			}
			newFakeIMDS(t, imds)
			getenv := tt.getenv
			if getenv == nil {
				getenv = env()
			}
			r := mustResolver(t, ResolverConfig{Region: tt.region, Getenv: getenv, IMDSEndpoint: imds.srv.URL + "/"})
			want := global
			if tt.wantRegion != "" {
				want = regional(tt.wantRegion)
			}
			for range 3 { // detection is remembered
				e, err := r.Resolve(context.Background(), mustParse(t, "https://login.microsoftonline.com/t", KindAuto), ResolveOptions{Regional: !tt.notRegion})
				if err != nil || e.Token != want || e.Region != tt.wantRegion {
					t.Fatalf("got %+v, %v; want %s (region %q)", e, err, want, tt.wantRegion)
				}
			}
			if n := imds.calls.Load(); n != tt.wantIMDS {
				t.Fatalf("%d IMDS requests, want %d", n, tt.wantIMDS)
			}
		})
	}
}

func TestInvalidRegion(t *testing.T) {
	t.Parallel()
	for _, region := range []string{"east us", "east-us", "eastus!", "autodetect!"} {
		_, err := NewResolver(ResolverConfig{Region: region, Getenv: env()})
		var e *entra.Error
		if !errors.As(err, &e) || e.Code != entra.CodeInvalidArgument {
			t.Errorf("Region %q: got %v, want invalid_region", region, err)
		}
	}
	if _, err := NewResolver(ResolverConfig{IMDSEndpoint: "169.254.169.254", Getenv: env()}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("IMDS endpoint without a scheme: got %v", err)
	}
}

func TestRegionIMDSUnreachable(t *testing.T) {
	t.Parallel()
	imds := newFakeIMDS(t, &fakeIMDS{})
	imds.srv.Close() // nothing listens any more
	r := mustResolver(t, ResolverConfig{Region: "auto", IMDSEndpoint: imds.srv.URL})
	e, err := r.Resolve(context.Background(), mustParse(t, "https://login.microsoftonline.com/t", KindAuto), ResolveOptions{Regional: true})
	if err != nil || e.Region != "" || e.Token != "https://login.microsoftonline.com/t/oauth2/v2.0/token" {
		t.Fatalf("got %+v, %v; want the global endpoint", e, err)
	}
}

func TestRegionIMDSSlow(t *testing.T) {
	t.Parallel()
	// An IMDS that never answers (off Azure, nothing answers at all) costs
	// at most the detection timeout, then the global endpoint is used.
	imds := newFakeIMDS(t, &fakeIMDS{location: "eastus", release: make(chan struct{})})
	r := mustResolver(t, ResolverConfig{Region: "auto", IMDSEndpoint: imds.srv.URL})
	r.regionTimeout = 20 * time.Millisecond // the real 2 s, shortened
	e, err := r.Resolve(context.Background(), mustParse(t, "https://login.microsoftonline.com/t", KindAuto), ResolveOptions{Regional: true})
	if err != nil || e.Region != "" || e.Token != "https://login.microsoftonline.com/t/oauth2/v2.0/token" {
		t.Fatalf("got %+v, %v; want the global endpoint", e, err)
	}
	if imds.calls.Load() != 1 {
		t.Fatalf("%d IMDS requests, want 1", imds.calls.Load())
	}
}

func TestRegionDetectedOnceForConcurrentCallers(t *testing.T) {
	t.Parallel()
	imds := newFakeIMDS(t, &fakeIMDS{location: "eastus", release: make(chan struct{}), arrived: make(chan struct{})})
	r := mustResolver(t, ResolverConfig{Region: "auto", IMDSEndpoint: imds.srv.URL})
	a := mustParse(t, "https://login.microsoftonline.com/t", KindAuto)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			e, err := r.Resolve(context.Background(), a, ResolveOptions{Regional: true})
			if err != nil || e.Region != "eastus" || e.Token != "https://eastus.login.microsoft.com/t/oauth2/v2.0/token" {
				t.Errorf("got %+v, %v", e, err)
			}
		})
	}
	<-imds.arrived // detection is under way; callers pile up behind it
	close(imds.release)
	wg.Wait()
	if n := imds.calls.Load(); n != 1 {
		t.Fatalf("%d IMDS requests for 20 concurrent callers, want 1", n)
	}
}

func TestRegionWaiterCanceled(t *testing.T) {
	t.Parallel()
	// A caller that gives up while detection runs gets canceled; detection
	// goes on and serves the next caller.
	imds := newFakeIMDS(t, &fakeIMDS{location: "eastus", release: make(chan struct{}), arrived: make(chan struct{})})
	r := mustResolver(t, ResolverConfig{Region: "auto", IMDSEndpoint: imds.srv.URL})
	a := mustParse(t, "https://login.microsoftonline.com/t", KindAuto)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-imds.arrived; cancel() }()
	_, err := r.Resolve(ctx, a, ResolveOptions{Regional: true})
	if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want canceled wrapping context.Canceled", err)
	}
	close(imds.release)
	e, err := r.Resolve(context.Background(), a, ResolveOptions{Regional: true})
	if err != nil || e.Region != "eastus" || imds.calls.Load() != 1 {
		t.Fatalf("got %+v, %v after %d IMDS requests", e, err, imds.calls.Load())
	}
}

// TestDetectRegionSource: DetectRegion reports where the region came from,
// and asks IMDS again each time (it remembers nothing).
func TestDetectRegionSource(t *testing.T) {
	t.Parallel()
	imds := newFakeIMDS(t, &fakeIMDS{location: "West US 2"})
	down := newFakeIMDS(t, &fakeIMDS{})
	down.srv.Close()
	tests := []struct {
		name, imds             string
		getenv                 func(string) string
		wantRegion, wantSource string
	}{
		{"environment first", imds.srv.URL, env("REGION_NAME", "East US"), "eastus", RegionFromEnvironment},
		{"then IMDS", imds.srv.URL, env(), "westus2", RegionFromIMDS},
		{"an invalid environment value falls to IMDS", imds.srv.URL, env("REGION_NAME", "east-us"), "westus2", RegionFromIMDS},
		{"neither", down.srv.URL, env(), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustResolver(t, ResolverConfig{Region: "auto", IMDSEndpoint: tt.imds, Getenv: tt.getenv})
			region, source := r.DetectRegion(context.Background())
			if region != tt.wantRegion || source != tt.wantSource {
				t.Fatalf("got %q from %q, want %q from %q", region, source, tt.wantRegion, tt.wantSource)
			}
		})
	}
	before := imds.calls.Load()
	r := mustResolver(t, ResolverConfig{Region: "auto", IMDSEndpoint: imds.srv.URL, Getenv: env()})
	r.DetectRegion(context.Background())
	r.DetectRegion(context.Background())
	if n := imds.calls.Load() - before; n != 2 {
		t.Fatalf("%d IMDS requests for two detections, want 2", n)
	}
}
