package entratest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/entra-go/entra/internal/jws"
)

// issuersPath is where the token service's listener serves the issuers
// made by NewIssuer.
const issuersPath = "/issuers/"

// Issuer is an OpenID Connect issuer of service-account tokens, as a
// Kubernetes cluster's API server is one for workload identity: the
// emulator serves its discovery document and keys, and its token endpoint
// trusts its tokens as the client assertions of the clients that
// register it in a FederatedCredential. It is safe for concurrent use.
type Issuer struct {
	url string
	kid string
	key *ecdsa.PrivateKey
	now func() time.Time
}

// NewIssuer makes an issuer with a key of its own (ECDSA P-256, which
// Kubernetes supports and which costs microseconds to make), at
// https://localhost:PORT/issuers/{name} on the token service's listener.
// An issuer of the same name is replaced: the tokens it signed are
// refused from then on.
func (e *Emulator) NewIssuer(name string) *Issuer {
	if name == "" {
		panic("entratest: NewIssuer needs a name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("entratest: making an issuer key: %v", err)) // crypto/rand does not fail
	}
	// Kubernetes names a key by a hash of its public key; so does this.
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		panic(fmt.Sprintf("entratest: encoding an issuer key: %v", err))
	}
	sum := sha256.Sum256(der)
	is := &Issuer{url: e.issuerURL(name), kid: base64.RawURLEncoding.EncodeToString(sum[:]), key: key, now: e.opts.Now}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.issuers[is.url] = is
	return is
}

func (e *Emulator) issuerURL(name string) string {
	return e.URL() + issuersPath + url.PathEscape(name)
}

// URL is the issuer's URL, the iss of its tokens and the Issuer of a
// FederatedCredential that trusts it.
func (is *Issuer) URL() string { return is.url }

// Token is a service-account token, signed, as the kubelet writes it into
// a pod: iss, sub, aud (a list of one, as Kubernetes sends it), iat, nbf,
// exp, jti, and the key's kid in its header. A lifetime of 0 means an
// hour, the kubelet's default; a negative one makes a token that expired
// that long ago (issued an hour before), as a file nobody rotates holds.
func (is *Issuer) Token(subject, audience string, lifetime time.Duration) string {
	now := is.now()
	iat, exp := now, now.Add(lifetime)
	switch {
	case lifetime == 0:
		exp = now.Add(time.Hour)
	case lifetime < 0:
		iat = exp.Add(-time.Hour)
	}
	t, err := jws.Sign(is.key, "ES256", map[string]any{"kid": is.kid}, map[string]any{
		"iss": is.url, "sub": subject, "aud": []string{audience},
		"iat": iat.Unix(), "nbf": iat.Unix(), "exp": exp.Unix(), "jti": newGUID(),
	})
	if err != nil {
		panic(fmt.Sprintf("entratest: signing a service-account token: %v", err)) // a key in memory cannot fail
	}
	return t
}

// WriteTokenFile writes a new Token to path, replacing the file whole, as
// the kubelet rotates a projected token: a reader sees the old token or
// the new one, never a part of either.
func (is *Issuer) WriteTokenFile(path, subject, audience string, lifetime time.Duration) error {
	return writeFileAtomic(path, []byte(is.Token(subject, audience, lifetime)))
}

// writeFileAtomic writes data to a new file in path's folder (a rename
// is atomic only within one file system) and renames it over path.
// CreateTemp makes the file 0600. There is no fsync: the file must be
// whole for readers, not survive a crash.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// issuerMux routes the issuers' paths: each issuer's discovery document
// and keys, at the paths the Kubernetes API server serves them.
func (e *Emulator) issuerMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET "+issuersPath+"{name}/.well-known/openid-configuration", e.endpoint(epOpenIDConfiguration, estsErrors{}, e.issuerConfiguration))
	mux.Handle("GET "+issuersPath+"{name}/openid/v1/jwks", e.endpoint(epKeys, estsErrors{}, e.issuerKeys))
	mux.Handle("/", e.endpoint(epUnknown, estsErrors{}, notFound))
	return mux
}

// issuerOf is the issuer a request's path names, or nil.
func (e *Emulator) issuerOf(r *http.Request) *Issuer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.issuers[e.issuerURL(r.PathValue("name"))]
}

func (e *Emulator) issuerConfiguration(w http.ResponseWriter, r *http.Request) {
	is := e.issuerOf(r)
	if is == nil {
		notFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                is.url,
		"jwks_uri":                              is.url + "/openid/v1/jwks",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
	})
}

func (e *Emulator) issuerKeys(w http.ResponseWriter, r *http.Request) {
	is := e.issuerOf(r)
	if is == nil {
		notFound(w, r)
		return
	}
	point, err := is.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "server_error", 90004, "Encoding the key failed.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": is.kid,
		"x": base64.RawURLEncoding.EncodeToString(point[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(point[33:]),
	}}})
}
