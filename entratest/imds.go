package entratest

import "net/http"

// imdsCompute serves the compute metadata of IMDS, which clients read for
// the VM's region.
func (e *Emulator) imdsCompute(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata") != "true" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad request. Required metadata header not specified"})
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad request. api-version was not specified in the request"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"azEnvironment": "AzurePublicCloud",
		"location":      e.opts.Region,
		"name":          "entra-emulator-vm",
		"osType":        "Linux",
		"vmId":          "00000000-0000-4000-8000-000000000e1a",
		"vmSize":        "Standard_D2s_v5",
	})
}
