// Package redistest starts throwaway redis-server processes, a single
// node or a cluster, on free loopback ports and keeping nothing on disk,
// for the tests and benchmarks of code that keeps its cache in Redis.
//
// It needs redis-server (and redis-cli for a cluster) on the PATH. Where
// they are missing, Skip skips the test, unless the environment variable
// ENTRA_REQUIRE_REDIS is set (as the project's CI sets it): then it
// fails.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv, when set, makes a missing redis-server a failure, not a skip.
const RequireEnv = "ENTRA_REQUIRE_REDIS"

// startTimeout bounds how long a server or cluster may take to answer.
const startTimeout = 10 * time.Second

// Skip skips tb because Redis could not be started (err says why), or
// fails it if RequireEnv is set.
func Skip(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv(RequireEnv) != "" {
		tb.Fatalf("redis-server is required (%s is set): %v", RequireEnv, err)
	}
	tb.Skipf("no Redis: %v", err)
}

// Server starts a redis-server for tb, stopped when tb ends, and returns
// its address. Without redis-server, tb is skipped (see Skip).
func Server(tb testing.TB) string {
	tb.Helper()
	addr, stop, err := Start()
	if err != nil {
		Skip(tb, err)
	}
	tb.Cleanup(stop)
	return addr
}

// Start starts a redis-server with args added to its command line and
// returns its address once it answers; stop kills it. It is Server for
// callers with no testing.TB, such as TestMain.
func Start(args ...string) (addr string, stop func(), err error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(path, append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no"}, args...)...)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitFor(addr, func(rdb *redis.Client) bool { return rdb.Ping(context.Background()).Err() == nil }); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}

// Cluster starts a Redis Cluster of n primaries (no replicas) for tb,
// stopped when tb ends, and returns their addresses once the cluster
// serves every slot. n must be at least 3, as redis-cli demands. Without
// redis-server or redis-cli, tb is skipped (see Skip).
func Cluster(tb testing.TB, n int) []string {
	tb.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		Skip(tb, err)
	}
	dir := tb.TempDir()
	addrs := make([]string, n)
	for i := range addrs {
		addr, stop, err := Start("--cluster-enabled", "yes", "--dir", dir,
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", i)))
		if err != nil {
			Skip(tb, err)
		}
		tb.Cleanup(stop)
		addrs[i] = addr
	}
	create := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...)
	if out, err := create.CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		if err := waitFor(addr, clusterOK); err != nil {
			tb.Fatalf("the cluster did not come up: %v", err)
		}
	}
	return addrs
}

// clusterOK reports whether the node rdb serves every slot.
func clusterOK(rdb *redis.Client) bool {
	info, err := rdb.ClusterInfo(context.Background()).Result()
	return err == nil && strings.Contains(info, "cluster_state:ok")
}

// waitFor polls the server at addr until ready reports true.
func waitFor(addr string, ready func(*redis.Client) bool) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ready(rdb) {
			return nil
		}
	}
	return errors.New("redis-server at " + addr + " was not ready in " + startTimeout.String())
}

// freePort is a loopback port free now, whose cluster bus port (10000
// more) is free too.
func freePort() (int, error) {
	for range 20 {
		port, err := listenFree(0)
		if err != nil {
			return 0, err
		}
		if port+10000 <= 65535 {
			if _, err := listenFree(port + 10000); err == nil {
				return port, nil
			}
		}
	}
	return 0, errors.New("no free loopback port with a free cluster bus port")
}

// listenFree listens on port (0: any) of the loopback interface, closes
// it at once, and returns the port.
func listenFree(port int) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
