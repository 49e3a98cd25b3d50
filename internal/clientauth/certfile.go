package clientauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// CheckInterval is how often a watched certificate file is looked at by
// default: at most once per interval, on an acquisition that uses it.
const CheckInterval = 5 * time.Second

// certFile is a certificate credential that follows its files: a
// certificate rotated on disk is loaded on the next acquisition that
// checks, without a new client. Requests then present the new certificate
// and proof-of-possession tokens are bound to it; bearer tokens obtained
// before stay served until they expire.
type certFile struct {
	certPath, keyPath string
	opts              CertificateOptions // the password is kept, to read a rotated PFX
	logger            *slog.Logger
	interval          time.Duration
	now               func() time.Time

	current   atomic.Pointer[Certificate]
	nextCheck atomic.Int64 // Unix ns; a look at the files is due after it

	mu    sync.Mutex // one reload at a time
	stamp fileStamp
}

// fileStamp tells whether the files changed since they were read: a
// hash of their contents (times and sizes can stay the same across a
// replacement made within the file system's time resolution).
type fileStamp [sha256.Size]byte

// WatchCertificate loads a certificate credential from files, as
// LoadCertificate does, and reloads it when the files change, looking at
// most once per interval. A file that fails to parse leaves the previous
// certificate in use, with a warning on logger (nil: none).
func WatchCertificate(certPath, keyPath string, opts CertificateOptions, logger *slog.Logger, interval time.Duration) (Credential, error) {
	f := &certFile{certPath: certPath, keyPath: keyPath, opts: opts, logger: logger, interval: interval, now: time.Now}
	stamp, err := f.stat()
	if err != nil {
		return nil, err
	}
	c, err := LoadCertificate(certPath, keyPath, opts)
	if err != nil {
		return nil, err
	}
	f.current.Store(c)
	f.stamp = stamp
	f.nextCheck.Store(f.now().Add(interval).UnixNano())
	return f, nil
}

// cert is the certificate in use, reloaded first if the files changed.
func (f *certFile) cert() *Certificate {
	if now := f.now(); now.UnixNano() >= f.nextCheck.Load() {
		f.reload(now)
	}
	return f.current.Load()
}

func (f *certFile) reload(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.UnixNano() < f.nextCheck.Load() {
		return // another caller just looked
	}
	f.nextCheck.Store(now.Add(f.interval).UnixNano())
	stamp, err := f.stat()
	if err != nil || stamp == f.stamp {
		if err != nil {
			f.warn(err)
		}
		return
	}
	c, err := LoadCertificate(f.certPath, f.keyPath, f.opts)
	if err != nil {
		f.warn(err) // half-written or wrong: keep the certificate that works
		return
	}
	f.current.Store(c)
	f.stamp = stamp
}

func (f *certFile) stat() (fileStamp, error) {
	h := sha256.New()
	for _, path := range []string{f.certPath, f.keyPath} {
		if path == "" {
			continue
		}
		data, err := readFile(path, "certificate")
		if err != nil {
			return fileStamp{}, err
		}
		h.Write(data)
		h.Write([]byte{0})
	}
	var s fileStamp
	h.Sum(s[:0])
	return s, nil
}

func (f *certFile) warn(err error) {
	if f.logger != nil {
		f.logger.Warn("entra: the certificate file could not be reloaded; the previous certificate stays in use",
			"path", f.certPath, "error", err)
	}
}

func (f *certFile) Material(ctx context.Context, req Request) (Material, error) {
	return f.cert().Material(ctx, req)
}

func (f *certFile) Certificate(ctx context.Context) (*Binding, error) {
	return f.cert().Certificate(ctx)
}

func (f *certFile) Bound() bool { return false }

// String shows the certificate in use, never the key.
func (f *certFile) String() string { return f.current.Load().String() }

// Format prints String for every verb.
func (f *certFile) Format(s fmt.State, _ rune) { io.WriteString(s, f.String()) }

// LogValue is String.
func (f *certFile) LogValue() slog.Value { return slog.StringValue(f.String()) }
