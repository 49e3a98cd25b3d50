package clientauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// Rereading a federated token file: a copy is kept at most maxTokenAge,
// and never within tokenExpiryMargin of its exp. The kubelet rewrites the
// file at 80 % of the token's life (at least an hour), so a copy read
// before a rotation is always replaced well before it expires.
const (
	maxTokenAge       = 5 * time.Minute
	tokenExpiryMargin = 5 * time.Minute
	maxTokenFileSize  = 64 << 10
)

// tokenFile is a credential whose assertion is a token another issuer
// wrote to a file, such as a Kubernetes service-account token (workload
// identity federation).
type tokenFile struct {
	path string
	// origin names where the path came from, for messages (e.g.
	// "AZURE_FEDERATED_TOKEN_FILE").
	origin string
	proxy  *Proxy // nil: requests go to the token service itself
	now    func() time.Time

	mu      sync.Mutex // one reader at a time: concurrent callers share a read
	token   string
	read    time.Time
	expires time.Time
}

// NewTokenFile returns a credential that sends the token in path as its
// client assertion, re-reading the file when its copy is older than five
// minutes or its exp is less than five minutes away. origin, if not empty,
// names where the path came from, for error messages. proxy, if not nil,
// is where its token requests go (an AKS identity binding).
func NewTokenFile(path, origin string, proxy *Proxy) Credential {
	return &tokenFile{path: path, origin: origin, proxy: proxy, now: time.Now}
}

// Proxy is where the credential's token requests go; nil for the token
// service itself.
func (f *tokenFile) Proxy() *Proxy { return f.proxy }

func (f *tokenFile) Material(ctx context.Context, req Request) (Material, error) {
	if req.CertificateOnly {
		return Material{}, errs.New(entra.CodeMTLSCertificateNotProvided,
			"the request must be authenticated by a certificate, and a federated token has none")
	}
	token, err := f.current()
	if err != nil {
		return Material{}, err
	}
	return Material{Assertion: token, AssertionType: AssertionTypeJWTBearer}, nil
}

// current returns the token, reading the file when the copy is stale.
func (f *tokenFile) current() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.token != "" && now.Sub(f.read) < maxTokenAge && f.expires.Sub(now) > tokenExpiryMargin {
		return f.token, nil
	}
	token, expires, err := f.load()
	if err != nil {
		return "", err
	}
	if !now.Before(expires) {
		return "", errs.New(entra.CodeInvalidCredentialMaterial,
			"the federated token in %s expired at %s and the file was not rotated", f.where(), expires.UTC().Format(time.RFC3339))
	}
	f.token, f.read, f.expires = token, now, expires
	return token, nil
}

// load reads and checks the file. The writer replaces it atomically (the
// kubelet writes a new file and renames it), so a read sees a whole token.
func (f *tokenFile) load() (token string, expires time.Time, err error) {
	file, err := os.Open(f.path)
	if err != nil {
		return "", time.Time{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the federated token file %s cannot be read", f.where())
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxTokenFileSize+1))
	switch token = strings.TrimSpace(string(data)); {
	case err != nil:
		return "", time.Time{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the federated token file %s cannot be read", f.where())
	case token == "":
		return "", time.Time{}, errs.New(entra.CodeInvalidCredentialMaterial, "the federated token file %s is empty", f.where())
	case len(data) > maxTokenFileSize:
		return "", time.Time{}, errs.New(entra.CodeInvalidCredentialMaterial, "the federated token file %s is larger than %d bytes", f.where(), maxTokenFileSize)
	}
	expires, ok := jwtExpiry(token)
	if !ok {
		return "", time.Time{}, errs.New(entra.CodeInvalidCredentialMaterial, "the federated token file %s does not hold a JWT with an exp", f.where())
	}
	return token, expires, nil
}

func (f *tokenFile) where() string {
	if f.origin != "" {
		return f.path + " (" + f.origin + ")"
	}
	return f.path
}

// jwtExpiry reads a compact JWT's exp without verifying it: the token is
// another issuer's, for the token service to verify; the client only needs
// to know when to read a fresh one.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 || exp > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}

// String never reveals the token.
func (f *tokenFile) String() string { return "federated token file " + f.path }

// Format prints String for every verb.
func (f *tokenFile) Format(s fmt.State, _ rune) { io.WriteString(s, f.String()) }

// LogValue is String.
func (f *tokenFile) LogValue() slog.Value { return slog.StringValue(f.String()) }
