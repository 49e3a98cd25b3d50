package entratest

import (
	"encoding/json"
	"net/http"
)

// imdsMux serves the Instance Metadata Service. Managed-identity routes
// belong here too, next to compute metadata.
func (e *Emulator) imdsMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metadata/instance/compute", e.imdsCompute)
	return mux
}

func (e *Emulator) imdsCompute(w http.ResponseWriter, r *http.Request) {
	if e.record(r, "imds_compute").apply(w, r) {
		return
	}
	if r.Header.Get("Metadata") != "true" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"Bad request. Required metadata header not specified"}`))
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"Bad request. api-version was not specified in the request"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]string{
		"azEnvironment": "AzurePublicCloud",
		"location":      e.opts.Region,
		"name":          "entra-emulator-vm",
		"osType":        "Linux",
		"vmId":          "00000000-0000-4000-8000-000000000e1a",
		"vmSize":        "Standard_D2s_v5",
	})
}
