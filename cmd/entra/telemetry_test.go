package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP receiver: it keeps the spans and metrics exported
// to it over HTTP (protobuf) or gRPC, and the raw payloads, to scan.
type receiver struct {
	mu       sync.Mutex
	traces   []*collectortrace.ExportTraceServiceRequest
	metrics  []*collectormetrics.ExportMetricsServiceRequest
	payloads [][]byte
}

func (r *receiver) keep(payload []byte, msg proto.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, payload)
	switch m := msg.(type) {
	case *collectortrace.ExportTraceServiceRequest:
		r.traces = append(r.traces, m)
	case *collectormetrics.ExportMetricsServiceRequest:
		r.metrics = append(r.metrics, m)
	}
}

// serveHTTP starts the OTLP/HTTP endpoint and returns its base URL.
func (r *receiver) serveHTTP(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		payload, err := io.ReadAll(body)
		if err != nil {
			return
		}
		var msg, answer proto.Message
		switch req.URL.Path {
		case "/v1/traces":
			msg, answer = &collectortrace.ExportTraceServiceRequest{}, &collectortrace.ExportTraceServiceResponse{}
		case "/v1/metrics":
			msg, answer = &collectormetrics.ExportMetricsServiceRequest{}, &collectormetrics.ExportMetricsServiceResponse{}
		default:
			http.NotFound(w, req)
			return
		}
		if err := proto.Unmarshal(payload, msg); err != nil {
			t.Errorf("%s: %v", req.URL.Path, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.keep(payload, msg)
		out, _ := proto.Marshal(answer)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type grpcTraces struct {
	collectortrace.UnimplementedTraceServiceServer
	r *receiver
}

func (g grpcTraces) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	payload, _ := proto.Marshal(req)
	g.r.keep(payload, req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

type grpcMetrics struct {
	collectormetrics.UnimplementedMetricsServiceServer
	r *receiver
}

func (g grpcMetrics) Export(_ context.Context, req *collectormetrics.ExportMetricsServiceRequest) (*collectormetrics.ExportMetricsServiceResponse, error) {
	payload, _ := proto.Marshal(req)
	g.r.keep(payload, req)
	return &collectormetrics.ExportMetricsServiceResponse{}, nil
}

// serveGRPC starts the OTLP/gRPC endpoint and returns its URL.
func (r *receiver) serveGRPC(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, grpcTraces{r: r})
	collectormetrics.RegisterMetricsServiceServer(srv, grpcMetrics{r: r})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return "http://" + ln.Addr().String()
}

// spanNames are the names of the spans received, and their resource.
func (r *receiver) spanNames() (names []string, res []*resourcepb.Resource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, req := range r.traces {
		for _, rs := range req.ResourceSpans {
			res = append(res, rs.Resource)
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
	}
	return names, res
}

func (r *receiver) metricNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for _, req := range r.metrics {
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					names = append(names, m.Name)
				}
			}
		}
	}
	return names
}

func attr(res *resourcepb.Resource, key string) string {
	for _, kv := range res.GetAttributes() {
		if kv.Key == key {
			if v, ok := kv.Value.Value.(*commonpb.AnyValue_StringValue); ok {
				return v.StringValue
			}
		}
	}
	return ""
}

// TestOTLPExport runs the CLI with the OTLP variables set against a
// receiver of each protocol and finds the command's spans and metrics,
// with the service name and resource attributes of the environment, and
// neither the secret nor the token in any payload.
func TestOTLPExport(t *testing.T) {
	t.Parallel()
	em, ca, _ := startEmulator(t)
	dc := em.DefaultClient()
	args := []string{"token", "client-credentials", "--authority", em.URL() + "/contoso.onmicrosoft.com",
		"--client-id", dc.ID, "--secret-env", "APP_SECRET"}
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			r := &receiver{}
			endpoint := r.serveHTTP(t)
			if proto == "grpc" {
				endpoint = r.serveGRPC(t)
			}
			c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + ca, "APP_SECRET=" + dc.Secret,
				"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL=" + proto, "OTEL_EXPORTER_OTLP_INSECURE=true",
				"OTEL_SERVICE_NAME=entra-ci", "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test"}}
			stdout, stderr, status := c.run(t, args...)
			if status != 0 {
				t.Fatalf("status %d: %s", status, stderr)
			}
			var out tokenOutput
			if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.AccessToken == "" {
				t.Fatalf("output %q: %v", stdout, err)
			}
			names, resources := r.spanNames()
			for _, want := range []string{"entra token client-credentials", "POST"} {
				if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, want) }) {
					t.Errorf("no span %q among %q", want, names)
				}
			}
			if len(names) < 3 {
				t.Errorf("spans %q: want the command's, the acquisition's and the request's", names)
			}
			for _, res := range resources {
				if attr(res, "service.name") != "entra-ci" || attr(res, "deployment.environment.name") != "test" {
					t.Errorf("resource %v: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES not honoured", res)
				}
			}
			metrics := r.metricNames()
			for _, want := range []string{"entra.token.acquisition.duration", "http.client.request.duration"} {
				if !slices.Contains(metrics, want) {
					t.Errorf("no metric %q among %q", want, metrics)
				}
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, p := range r.payloads {
				if bytes.Contains(p, []byte(dc.Secret)) || bytes.Contains(p, []byte(out.AccessToken)) {
					t.Fatal("a payload carries the secret or the token")
				}
			}
		})
	}
}

// TestVerboseLog: --verbose prints the library's debug log, without
// secrets.
func TestVerboseLog(t *testing.T) {
	t.Parallel()
	em, ca, _ := startEmulator(t)
	dc := em.DefaultClient()
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + ca, "APP_SECRET=" + dc.Secret,
		"OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="}}
	stdout, stderr, status := c.run(t, "token", "client-credentials", "--verbose", "--authority", em.URL()+"/contoso.onmicrosoft.com",
		"--client-id", dc.ID, "--secret-env", "APP_SECRET")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var out tokenOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "entra: http") || strings.Contains(stderr, dc.Secret) || strings.Contains(stderr, out.AccessToken) {
		t.Fatalf("--verbose printed %q: want the debug log, without the secret or token", stderr)
	}
}

// TestTelemetrySwitch: the variables decide which signals are exported;
// with none, nothing is set up.
func TestTelemetrySwitch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name             string
		env              map[string]string
		traces, shutdown int // whether a tracer is made; how many providers
		wantErr          bool
	}{
		{name: "none", env: map[string]string{}},
		{name: "disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"}},
		{name: "both", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, traces: 1, shutdown: 2},
		{name: "traces only", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1"}, traces: 1, shutdown: 1},
		{name: "metrics only", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:1"}, shutdown: 1},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, traces: 1, shutdown: 2},
		{name: "json", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, wantErr: true},
	} {
		tel, err := startTelemetry(context.Background(), func(k string) string { return tt.env[k] })
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if err != nil {
			continue
		}
		hasTracer := 0
		if tel.tracer != nil {
			hasTracer = 1
		}
		if hasTracer != tt.traces || len(tel.shutdown) != tt.shutdown || (tel.observer == nil) != (tt.shutdown == 0) {
			t.Errorf("%s: tracer %d, %d providers, observer %v", tt.name, hasTracer, len(tel.shutdown), tel.observer != nil)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		for _, shutdown := range tel.shutdown {
			shutdown(ctx) // stops the exporters' goroutines; the endpoint is closed, so the export fails
		}
		cancel()
	}
}

func TestCommandName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "help"},
		{[]string{"token", "client-credentials", "--secret-env", "X"}, "token client-credentials"},
		{[]string{"token", "s3cr3t"}, "token"},
		{[]string{"http", "https://example.com/?q=1"}, "http"},
		{[]string{"hunter2"}, "unknown"},
	} {
		if got := commandName(tt.args); got != tt.want {
			t.Errorf("commandName(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
