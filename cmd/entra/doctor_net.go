package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entra-go/entra/internal/authority"
	"github.com/entra-go/entra/managedidentity"
)

// imdsAddress is where IMDS answers on Azure; AZURE_POD_IDENTITY_AUTHORITY_HOST
// moves it, as the managed identity client reads it.
const imdsAddress = "http://169.254.169.254"

// Skew bounds: Entra ID accepts assertions and tokens with 5 minutes of
// skew; beyond a minute is worth knowing before it grows.
const (
	skewWarn = time.Minute
	skewFail = 5 * time.Minute
)

// checkManagedIdentity names the source the environment selects, the
// variables that decided it (names only: some hold secrets), and whether
// a client can be made from them.
func checkManagedIdentity(e env) check {
	d := managedidentity.Detect(e.getenv, "")
	c := check{Name: "managed identity", Status: statusOK,
		Data: map[string]any{"source": string(d.Source), "variables": d.Variables, "arc_agent": d.ArcAgent}}
	switch {
	case d.ArcAgent:
		c.Detail = fmt.Sprintf("source %s: the Azure Arc agent is installed", string(d.Source))
	case len(d.Variables) > 0:
		c.Detail = fmt.Sprintf("source %s, from %s", string(d.Source), strings.Join(d.Variables, ", "))
	default:
		c.Detail = fmt.Sprintf("source %s, the default: no managed identity variable is set", string(d.Source))
		c.Hint = "IMDS answers on Azure VMs, scale sets and AKS nodes only; see the IMDS checks"
	}
	if _, err := managedidentity.New(managedidentity.Config{Getenv: e.getenv, ArcTokenDir: e.arcTokenDir}); err != nil {
		c.Status, c.Hint = statusFail, entraMessage(err)
	}
	return c
}

// imdsBase is the IMDS base URL the managed identity client would use.
func imdsBase(e env) string {
	if host := strings.TrimRight(strings.TrimSpace(e.getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST")), "/"); host != "" {
		return host
	}
	return imdsAddress
}

// probe sends one GET with "Metadata: true" within probeTimeout, never
// following a redirect, and returns the response's status and Server
// header; the body is discarded (it may hold a token).
func probe(ctx context.Context, client *http.Client, rawURL string) (status int, server string, err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Metadata", "true")
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Server"), nil
}

// plainClient reaches local endpoints directly, without a proxy, as the
// managed identity client does.
func plainClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &http.Client{Transport: t}
}

// probeError is a network error without the URL Go puts in it.
func probeError(err error) string {
	var ue *url.Error
	if e, ok := err.(*url.Error); ok {
		ue = e
		err = ue.Err
	}
	if err == context.DeadlineExceeded {
		return fmt.Sprintf("no answer within %v", probeTimeout)
	}
	return err.Error()
}

// probeIMDSv1 asks IMDS' token endpoint without a resource: any answer
// (400 names the missing resource) shows it is there, no token is issued.
func probeIMDSv1(ctx context.Context, e env) check {
	base := imdsBase(e)
	return timed(func() check {
		c := check{Name: "IMDS v1", Data: map[string]any{"url": base}}
		status, _, err := probe(ctx, plainClient(), base+"/metadata/identity/oauth2/token?api-version=2018-02-01")
		if err != nil {
			c.Status, c.Detail = statusWarn, fmt.Sprintf("no answer from %s: %s", base, probeError(err))
			c.Hint = "off Azure this is expected; on an Azure VM check that a managed identity is assigned and nothing blocks 169.254.169.254"
			return c
		}
		c.Data["status"] = status
		if status != http.StatusOK && status != http.StatusBadRequest {
			c.Status, c.Detail = statusWarn, fmt.Sprintf("%s answers HTTP %d, not as IMDS does (200, or 400 without a resource)", base, status)
			c.Hint = "something else answers at this address (a proxy or firewall?)"
			return c
		}
		c.Status, c.Detail = statusOK, fmt.Sprintf("%s answers as IMDS (HTTP %d)", base, status)
		return c
	})
}

// probeIMDSv2 asks for the platform metadata of managed identity v2: 200
// from a server that says it is IMDS means v2 (mTLS PoP tokens); 404
// means v1 only.
func probeIMDSv2(ctx context.Context, e env) check {
	base := imdsBase(e)
	return timed(func() check {
		c := check{Name: "IMDS v2", Data: map[string]any{"url": base}}
		status, server, err := probe(ctx, plainClient(), base+"/metadata/identity/getplatformmetadata?cred-api-version=2.0")
		switch {
		case err != nil:
			c.Status, c.Detail = statusWarn, fmt.Sprintf("no answer from %s: %s", base, probeError(err))
		case status == http.StatusOK && strings.Contains(server, "IMDS"):
			c.Status, c.Detail = statusOK, "available: managed identity over mTLS with PoP tokens"
		case status == http.StatusNotFound:
			c.Status, c.Detail = statusOK, "not available (HTTP 404): IMDS v1 only, bearer tokens"
			c.Hint = "mTLS PoP tokens for managed identity need a host with IMDS v2"
		default:
			c.Status, c.Detail = statusWarn, fmt.Sprintf("unexpected answer: HTTP %d", status)
		}
		c.Data["status"] = status
		return c
	})
}

// checkRegion runs the library's region detection (--region auto) and
// says where the region came from; MSAL_FORCE_REGION is shown when set.
func checkRegion(ctx context.Context, e env) check {
	return timed(func() check {
		c := check{Name: "region", Status: statusOK}
		r, err := authority.NewResolver(authority.ResolverConfig{Region: authority.RegionAuto, Getenv: e.getenv,
			HTTPClient: &http.Client{Timeout: probeTimeout}})
		if err != nil {
			c.Status, c.Detail = statusFail, entraMessage(err)
			return c
		}
		region, source := r.DetectRegion(ctx)
		c.Data = map[string]any{"region": region, "source": source}
		switch source {
		case authority.RegionFromEnvironment:
			c.Detail = fmt.Sprintf("%s, from REGION_NAME", region)
		case authority.RegionFromIMDS:
			c.Detail = fmt.Sprintf("%s, from IMDS instance metadata", region)
		default:
			c.Detail = "none: neither REGION_NAME nor IMDS gives one; --region auto uses the global endpoint"
		}
		if forced := strings.TrimSpace(e.getenv("MSAL_FORCE_REGION")); forced != "" {
			c.Data["msal_force_region"] = forced
			if authority.ValidRegion(forced) || strings.EqualFold(forced, authority.RegionAuto) {
				c.Detail += fmt.Sprintf("; MSAL_FORCE_REGION=%s applies when no region is configured", forced)
			} else {
				c.Status, c.Hint = statusWarn, fmt.Sprintf("MSAL_FORCE_REGION=%q is not a region name and is ignored", forced)
			}
		}
		return c
	})
}

// tokenServiceHost is the scheme and host whose clock is compared.
func tokenServiceHost(authorityURL string, e env) string {
	raw := authorityURL
	if raw == "" {
		raw = e.getenv("AZURE_AUTHORITY_HOST")
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme == "https" && u.Host != "" {
		return "https://" + u.Host
	}
	return publicCloud
}

// checkClock compares the local clock with the token service's Date
// header, taken at the middle of the request (Date has 1 s resolution).
func checkClock(ctx context.Context, authorityURL string, e env) check {
	host := tokenServiceHost(authorityURL, e)
	return timed(func() check {
		c := check{Name: "clock skew", Data: map[string]any{"host": host}}
		client := e.httpClient
		if client == nil {
			client = &http.Client{}
		}
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, host+"/", nil)
		sent := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			c.Status, c.Detail = statusWarn, fmt.Sprintf("cannot reach %s: %s", host, probeError(err))
			c.Hint = "the token service must be reachable over HTTPS (proxy: HTTPS_PROXY)"
			return c
		}
		resp.Body.Close()
		local := sent.Add(time.Since(sent) / 2)
		date, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			c.Status, c.Detail = statusWarn, fmt.Sprintf("%s sent no Date header", host)
			return c
		}
		skew := date.Sub(local).Round(time.Second)
		c.Data["skew_seconds"] = skew.Seconds()
		c.Detail = fmt.Sprintf("%s against %s (±1s)", skew, host)
		switch abs := max(skew, -skew); {
		case abs >= skewFail:
			c.Status, c.Hint = statusFail, "sync the clock (NTP): Entra ID refuses assertions and tokens more than 5 minutes off"
		case abs >= skewWarn:
			c.Status, c.Hint = statusWarn, "sync the clock (NTP) before it drifts past the 5 minutes Entra ID tolerates"
		default:
			c.Status = statusOK
		}
		return c
	})
}
