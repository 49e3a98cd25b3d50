package entraotel_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entraotel"
	"github.com/entra-go/entra/entratest"
)

func Example() {
	// The emulator stands for Entra ID here.
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()

	// Providers that keep what they get, where a service would export it.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	obs, err := entraotel.New(entraotel.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		log.Fatal(err)
	}
	secret, err := credential.NewSecret(em.DefaultClient().Secret)
	if err != nil {
		log.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{
		Authority:  "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID:   em.DefaultClient().ID,
		Credential: secret,
		HTTPClient: em.HTTPClient(),
		Observer:   obs,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx := context.Background()
	req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
	for range 2 { // a miss, then a hit, which makes no span outside a traced request
		if _, err := client.AcquireTokenForClient(ctx, req); err != nil {
			log.Fatal(err)
		}
	}

	for _, s := range spans.Ended() {
		fmt.Println("span:", s.Name())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Println("metric:", name)
	}
	// Output:
	// span: POST
	// span: entra.acquire_token client_credentials
	// metric: entra.token.acquisition.duration
	// metric: entra.token.acquisitions
	// metric: entra.token.remaining_lifetime
	// metric: http.client.request.duration
}
