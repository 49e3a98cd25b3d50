//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package filestore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/tokencache"
)

// targetContent is in the file a planted link points to; no error may
// show it.
const targetContent = `{"AccessToken":{"k":{"secret":"victim-secret-31c7"}}}`

// plant puts something other than a regular file at at, inside dir, and
// returns a check that it and what it points to were left exactly as
// they were.
type plant func(t *testing.T, dir, at string) (check func(t *testing.T))

// linkTo makes at a symbolic link to target.
func linkTo(t *testing.T, target, at string) {
	t.Helper()
	if err := os.Symlink(target, at); err != nil {
		t.Fatal(err)
	}
}

// stillALink checks that at is still a symbolic link to target.
func stillALink(t *testing.T, at, target string) {
	t.Helper()
	fi, err := os.Lstat(at)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symbolic link (%v)", at, err)
	}
	if got, _ := os.Readlink(at); got != target {
		t.Errorf("the link points to %q, want %q", got, target)
	}
}

// wantMode checks the mode of p itself, without following a link.
func wantMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode(), want, err)
	}
}

var plants = map[string]plant{
	"symlink to a 0644 file": func(t *testing.T, dir, at string) func(*testing.T) {
		target := filepath.Join(dir, "elsewhere.json")
		if err := os.WriteFile(target, []byte(targetContent), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(target, 0o644) // whatever the umask
		linkTo(t, target, at)
		return func(t *testing.T) {
			stillALink(t, at, target)
			wantMode(t, target, 0o644)
			if got, _ := os.ReadFile(target); string(got) != targetContent {
				t.Errorf("the link's target now holds %q", got)
			}
		}
	},
	"dangling symlink": func(t *testing.T, dir, at string) func(*testing.T) {
		target := filepath.Join(dir, "missing.json")
		linkTo(t, target, at)
		return func(t *testing.T) {
			stillALink(t, at, target)
			if _, err := os.Lstat(target); !os.IsNotExist(err) {
				t.Errorf("the link's target was created (%v)", err)
			}
		}
	},
	"symlink to a directory": func(t *testing.T, dir, at string) func(*testing.T) {
		target := filepath.Join(dir, "somedir")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(target, 0o755)
		linkTo(t, target, at)
		return func(t *testing.T) {
			stillALink(t, at, target)
			wantMode(t, target, os.ModeDir|0o755)
		}
	},
	"directory": func(t *testing.T, dir, at string) func(*testing.T) {
		if err := os.Mkdir(at, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(at, 0o755)
		return func(t *testing.T) { wantMode(t, at, os.ModeDir|0o755) }
	},
}

// operations are the Store's ways in, each reporting whether its update
// function ran.
var operations = map[string]func(ctx context.Context, s *store) (ran bool, err error){
	"Load": func(ctx context.Context, s *store) (bool, error) {
		_, err := s.Load(ctx, "")
		return false, err
	},
	"Update": func(ctx context.Context, s *store) (bool, error) {
		ran := false
		err := s.Update(ctx, "", func([]byte) ([]byte, error) { ran = true; return []byte(`["new"]`), nil })
		return ran, err
	},
}

// wantRefused checks the refusal: a cache storage error that names the
// refused path and shows nothing of what a link points to.
func wantRefused(t *testing.T, err error, path string, start time.Time) {
	t.Helper()
	if entra.ErrorCode(err) != entra.CodeCacheStorage {
		// Not fatal: the caller's checks then show what was touched.
		t.Errorf("err = %v, want code %s", err, entra.CodeCacheStorage)
		return
	}
	if msg := err.Error(); !strings.Contains(msg, path) || strings.Contains(msg, "victim-secret") ||
		strings.Contains(msg, "elsewhere") || strings.Contains(msg, "missing.json") || strings.Contains(msg, "somedir") {
		t.Errorf("error %q: want the path named and nothing of the target", msg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused after %s", d)
	}
}

// A cache file that is a symbolic link or a directory is refused by Load
// and Update, and nothing is changed: not the link, not what it points
// to, not a directory's mode.
func TestCacheFileThatIsNotARegularFileIsRefused(t *testing.T) {
	t.Parallel()
	for pname, plantAt := range plants {
		for oname, op := range operations {
			t.Run(pname+"/"+oname, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "cache.json")
				s := open(t, path, nil) // before the plant: it appears later
				check := plantAt(t, dir, path)
				start := time.Now()
				ran, err := op(context.Background(), s)
				wantRefused(t, err, path, start)
				if ran {
					t.Error("the update function ran")
				}
				check(t)
				leftovers, _ := filepath.Glob(path + ".tmp-*")
				if len(leftovers) != 0 {
					t.Errorf("left behind %q", leftovers)
				}
			})
		}
	}
}

// The lock file is not followed either: a link planted there is refused
// and left alone, and a dangling one does not create its target.
func TestLockFileThatIsNotARegularFileIsRefused(t *testing.T) {
	t.Parallel()
	for pname, plantAt := range plants {
		for oname, op := range operations {
			t.Run(pname+"/"+oname, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "cache.json")
				if err := os.WriteFile(path, []byte(`["kept"]`), 0o600); err != nil {
					t.Fatal(err)
				}
				s := open(t, path, nil)
				check := plantAt(t, dir, path+".lockfile")
				start := time.Now()
				ran, err := op(context.Background(), s)
				wantRefused(t, err, path+".lockfile", start)
				if ran {
					t.Error("the update function ran")
				}
				check(t)
				if got, _ := os.ReadFile(path); string(got) != `["kept"]` {
					t.Errorf("the cache file now holds %q", got)
				}
			})
		}
	}
}

// Open does not follow a link either: it refuses one already there, as it
// refuses a directory, and leaves it alone.
func TestOpenRefusesASymlink(t *testing.T) {
	t.Parallel()
	for _, pname := range []string{"symlink to a 0644 file", "dangling symlink", "symlink to a directory", "directory"} {
		t.Run(pname, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cache.json")
			check := plants[pname](t, dir, path)
			_, err := Open(path, Options{})
			if entra.ErrorCode(err) != entra.CodeInvalidArgument || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want code %s naming the path", err, entra.CodeInvalidArgument)
			}
			check(t)
		})
	}
}

// Through the cache: opening a cache on a store whose file became a link
// fails, and so does saving a token into it; the link's target keeps its
// contents and mode.
func TestCacheOnASymlinkedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "msal_cache.json")
	store := open(t, path, nil)
	ctx := context.Background()
	c, err := tokencache.Open(ctx, store) // no file yet: an empty cache
	if err != nil {
		t.Fatal(err)
	}
	check := plants["symlink to a 0644 file"](t, dir, path)

	start := time.Now()
	_, err = tokencache.Open(ctx, store)
	wantRefused(t, err, path, start)
	now := time.Now()
	at := tokencache.AccessToken{Key: tokencache.Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t"},
		Scopes: []string{"s/.default"}, Secret: "new-token-value", CachedAt: now, ExpiresOn: now.Add(time.Hour)}
	start = time.Now()
	err = c.Save(ctx, tokencache.Entries{AccessToken: &at}, now)
	wantRefused(t, err, path, start)
	if err != nil && strings.Contains(err.Error(), "new-token-value") {
		t.Errorf("error %q shows the token", err)
	}
	check(t)
}

// noFollow is what stops a link planted between the Lstat check and open
// (which the tests above cannot time): open with it fails on a link.
func TestNoFollowFailsOnALink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	if err := os.WriteFile(target, []byte(targetContent), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "cache.json")
	linkTo(t, target, link)
	for _, flag := range []int{os.O_RDONLY, os.O_RDWR | os.O_CREATE} {
		if f, err := os.OpenFile(link, flag|noFollow, 0o600); err == nil {
			f.Close()
			t.Errorf("open with flags %#x followed the link", flag)
		}
	}
}
