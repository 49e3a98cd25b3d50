package authority

import (
	"context"
	"net/http"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/transport"
)

// ValidRegion reports whether name is a well-formed Azure region name:
// one or more ASCII letters and digits, such as "westus2".
func ValidRegion(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// regionName returns the region to use, "" for the global endpoint.
func (r *Resolver) regionName(ctx context.Context) (string, error) {
	if r.region != RegionAuto {
		return r.region, nil
	}
	return r.autoRegion(ctx)
}

// autoRegion detects the region once per Resolver. Concurrent callers
// share the one detection; each waits only as long as its own ctx allows,
// while detection goes on (bounded by regionTimeout) for the others.
func (r *Resolver) autoRegion(ctx context.Context) (string, error) {
	r.regionMu.Lock()
	done := r.regionDone
	if done == nil {
		done = make(chan struct{})
		r.regionDone = done
		detect := context.WithoutCancel(ctx) // keeps the caller's values, not its deadline
		go func() {
			r.detected, _ = r.detectRegion(detect)
			close(done) // publishes r.detected to every receiver
		}()
	}
	r.regionMu.Unlock()
	select {
	case <-done:
		return r.detected, nil
	case <-ctx.Done():
		return "", errs.Wrap(entra.CodeCanceled, ctx.Err(), "region detection was abandoned")
	}
}

// Sources of a detected region, as DetectRegion reports them.
const (
	RegionFromEnvironment = "REGION_NAME"
	RegionFromIMDS        = "IMDS"
)

// DetectRegion runs region detection as "auto" does, without remembering
// the result: the region ("" for the global endpoint) and where it came
// from (RegionFromEnvironment, RegionFromIMDS, or "" when neither gave
// one). It is bounded by the detection timeout.
func (r *Resolver) DetectRegion(ctx context.Context) (region, source string) {
	return r.detectRegion(ctx)
}

// detectRegion reads REGION_NAME, else asks IMDS. Any failure means the
// global endpoint (""): a region is an optimisation, never a requirement.
func (r *Resolver) detectRegion(ctx context.Context) (region, source string) {
	if env := normalizeRegion(r.getenv("REGION_NAME")); ValidRegion(env) {
		return env, RegionFromEnvironment
	}
	ctx, cancel := context.WithTimeout(ctx, r.regionTimeout)
	defer cancel()
	var doc struct {
		Location string `json:"location"`
	}
	u := r.imds + "/metadata/instance/compute?api-version=2021-02-01"
	if err := getJSON(ctx, r.http, transport.NoRetry, u, http.Header{"Metadata": {"true"}}, "region detection", &doc); err != nil {
		return "", ""
	}
	if loc := normalizeRegion(doc.Location); ValidRegion(loc) {
		return loc, RegionFromIMDS
	}
	return "", ""
}

// normalizeRegion turns "West US 2" into "westus2".
func normalizeRegion(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", ""))
}
