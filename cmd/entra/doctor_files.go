package main

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/tokencache"
)

// certExpiryWarn is how soon before its expiry a certificate is a warning.
const certExpiryWarn = 30 * 24 * time.Hour

// checkCertificate loads the certificate as a client would (the library
// checks the key matches and that the certificate is valid now) and
// reports its validity and thumbprints. ok is false when no certificate
// is named.
func checkCertificate(f credFlags, e env) ([]check, bool) {
	path, from := f.cert, "--cert"
	if path == "" {
		path, from = e.getenv("AZURE_CLIENT_CERTIFICATE_PATH"), "AZURE_CLIENT_CERTIFICATE_PATH"
	}
	if path == "" {
		return nil, false
	}
	c := check{Name: "certificate", Data: map[string]any{"path": path, "from": from}}
	opts := credential.CertificateOptions{}
	if f.certPasswordEnv != "" {
		opts.Password = e.getenv(f.certPasswordEnv)
	} else if from == "AZURE_CLIENT_CERTIFICATE_PATH" {
		opts.Password = e.getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD")
	}
	cred, err := credential.LoadCertificate(path, f.key, opts)
	if err != nil {
		c.Status, c.Detail = statusFail, fmt.Sprintf("%s: %s", path, entraMessage(err))
		c.Hint = "a client certificate needs its private key (in the file or --key), a supported key, and to be valid now"
		return []check{c}, true
	}
	leaf := cred.(interface{ Leaf() *x509.Certificate }).Leaf()
	sha1Sum, sha256Sum := sha1.Sum(leaf.Raw), sha256.Sum256(leaf.Raw)
	left := time.Until(leaf.NotAfter).Round(time.Minute)
	c.Data["subject"], c.Data["issuer"] = leaf.Subject.String(), leaf.Issuer.String()
	c.Data["not_before"], c.Data["not_after"] = leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)
	c.Data["x5t"] = base64.RawURLEncoding.EncodeToString(sha1Sum[:])
	c.Data["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sha256Sum[:])
	c.Data["key_matches"] = true
	c.Status = statusOK
	c.Detail = fmt.Sprintf("%s, key matches, valid until %s (expires in %s); x5t %s, x5t#S256 %s",
		leaf.Subject.CommonName, c.Data["not_after"], left, c.Data["x5t"], c.Data["x5t#S256"])
	if left < certExpiryWarn {
		c.Status, c.Hint = statusWarn, "renew the certificate and register the new one with the application before this one expires"
	}
	return []check{c}, true
}

// checkCacheFile reports a cache file's kind and permissions, its lock,
// whether the library can read it, and what it holds. It creates nothing.
func checkCacheFile(ctx context.Context, path string) []check {
	file := check{Name: "cache file", Data: map[string]any{"path": path}}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		file.Status, file.Detail = statusFail, fmt.Sprintf("%s does not exist", path)
		file.Hint = "a token command with --cache creates it"
		return []check{file}
	case err != nil:
		file.Status, file.Detail = statusFail, err.Error()
		return []check{file}
	case !fi.Mode().IsRegular():
		file.Status, file.Detail = statusFail, fmt.Sprintf("%s is not a regular file (%v); the library refuses it", path, fi.Mode().Type())
		return []check{file}
	}
	perm := fi.Mode().Perm()
	file.Data["mode"] = fmt.Sprintf("%04o", perm)
	file.Status, file.Detail = statusOK, fmt.Sprintf("%s, mode %04o, %d bytes", path, perm, fi.Size())
	if perm&0o077 != 0 {
		file.Status, file.Hint = statusWarn, "others can read the tokens: chmod 600 "+path
	}
	return []check{file, checkLock(path), checkCacheContents(ctx, path)}
}

// checkLock reports whether another process holds the cache's lock now,
// as the file store itself tells it.
func checkLock(path string) check {
	c := check{Name: "cache lock", Status: statusOK, Data: map[string]any{}}
	held, lockFile, err := filestore.LockHeld(path)
	c.Data["path"], c.Data["held"] = lockFile, held
	switch {
	case err != nil:
		c.Status, c.Detail = statusWarn, fmt.Sprintf("cannot test the lock: %s", entraMessage(err))
	case held:
		c.Status, c.Detail = statusWarn, "held by another process now"
		c.Hint = "a writer holds it briefly; if it stays held, a process is stuck holding it"
	default:
		c.Detail = "free"
	}
	return c
}

// cacheSections are the sections of the cross-MSAL cache schema.
var cacheSections = []string{"AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"}

// checkCacheContents parses the file as the library does (without its
// lock: nothing is created) and counts its entries.
func checkCacheContents(ctx context.Context, path string) check {
	c := check{Name: "cache contents", Data: map[string]any{}}
	data, err := os.ReadFile(path)
	if err != nil {
		c.Status, c.Detail = statusFail, err.Error()
		return c
	}
	if len(data) > 0 && data[0] == 0x89 {
		c.Status, c.Detail = statusOK, "encrypted (cache/encrypted): entries are not counted without the key"
		c.Data["encrypted"] = true
		return c
	}
	if _, err := tokencache.Open(ctx, bytesStorage(data)); err != nil {
		c.Status, c.Detail = statusFail, entraMessage(err)
		c.Hint = "the library refuses this file and never overwrites it: move it aside to start afresh"
		return c
	}
	var doc map[string]map[string]json.RawMessage
	json.Unmarshal(data, &doc)
	counts := map[string]int{}
	for _, s := range cacheSections {
		counts[s] = len(doc[s])
	}
	expired := expiredAccessTokens(doc["AccessToken"], time.Now())
	c.Data["counts"], c.Data["expired_access_tokens"] = counts, expired
	c.Status = statusOK
	c.Detail = fmt.Sprintf("%d access token(s) (%d expired), %d refresh token(s), %d ID token(s), %d account(s), %d app metadata",
		counts["AccessToken"], expired, counts["RefreshToken"], counts["IdToken"], counts["Account"], counts["AppMetadata"])
	return c
}

// expiredAccessTokens counts the access tokens whose expires_on is past.
func expiredAccessTokens(entries map[string]json.RawMessage, now time.Time) int {
	n := 0
	for _, raw := range entries {
		var at struct {
			ExpiresOn string `json:"expires_on"`
		}
		if json.Unmarshal(raw, &at) != nil {
			continue
		}
		if sec, err := strconv.ParseInt(at.ExpiresOn, 10, 64); err == nil && time.Unix(sec, 0).Before(now) {
			n++
		}
	}
	return n
}

// bytesStorage is a read-only cache.Storage over a document, so the
// library parses a file without opening (and locking) it.
type bytesStorage []byte

func (b bytesStorage) Load(context.Context, string) ([]byte, error) { return b, nil }
func (b bytesStorage) Update(context.Context, string, func([]byte) ([]byte, error)) error {
	return errs.New(entra.CodeCacheStorage, "the doctor writes nothing")
}
