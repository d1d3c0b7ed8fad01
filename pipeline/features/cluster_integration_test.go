//go:build integration

package features

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/schemas"
)

// startCluster starts a 3-master Redis Cluster (no replicas) of private
// redis-servers and returns their addresses.
func startCluster(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redis-cli is not installed: run `deployments/local/redis.sh start` once, or `make test`")
	}
	var addrs []string
	for range 3 {
		r := servicetest.StartRedis(t, servicetest.RedisOptions{Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}})
		addrs = append(addrs, r.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for !strings.Contains(c.ClusterInfo(context.Background()).Val(), "cluster_state:ok") {
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster node %s is not ok after 20s", a)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return addrs
}

func TestCluster(t *testing.T) {
	addrs := startCluster(t)
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs})
	defer client.Close()
	if _, ok := client.(*redis.ClusterClient); !ok {
		t.Fatalf("UniversalClient with %d addresses is a %T, want a cluster client", len(addrs), client)
	}
	ctx := context.Background()
	spec := parseSpec(t, storeSpec)
	const n = 600
	users := make([]string, n)
	vec := make([]Entity, n)
	hash := make([]Entity, n)
	for i := range users {
		users[i] = fmt.Sprint("c", i)
		vec[i] = Entity{Key: "st:" + users[i], Values: []float32{float32(i), 1}}
		hash[i] = Entity{Key: "pr:" + users[i], Values: []float32{float32(-i), 2}}
	}
	for set, ents := range [][]Entity{vec, hash} {
		w, err := NewWriter(client, &spec.FeatureSets[set], time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, ents); err != nil {
			t.Fatalf("writing to the cluster: %v", err)
		}
	}

	// Our slot function agrees with the cluster's.
	node := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer node.Close()
	slots := map[int]bool{}
	for _, e := range vec {
		s := Slot(e.Key)
		slots[s] = true
		if want := node.ClusterKeySlot(ctx, e.Key).Val(); int64(s) != want {
			t.Fatalf("Slot(%q) = %d, cluster says %d", e.Key, s, want)
		}
	}

	mgets := func() int64 {
		var total int64
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			total += commandCalls(t, c)["mget"]
			c.Close()
		}
		return total
	}
	before := mgets()
	store, err := New(client, spec, Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := schemas.EnrichInput{Rows: n, Cols: cols, Features: make([]float32, n*cols), Keys: make([][]string, 2)}
	for r, u := range users {
		copy(b.Features[r*cols:], []float32{0, 0.5, 2, 30, 1})
		b.Keys[0] = append(b.Keys[0], "st:"+u)
		b.Keys[1] = append(b.Keys[1], "pr:"+u)
	}
	res, err := store.Enrich(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Missing != nil {
		t.Fatalf("%d values missing in the cluster", res.MissingValues)
	}
	for r := range n {
		got := b.Features[r*cols : (r+1)*cols]
		if got[1] != float32(r) || got[3] != float32(-r) || got[4] != 2 {
			t.Fatalf("row %d = %v", r, got)
		}
	}
	if st := store.Stats(); st.RoundTrips != 1 {
		t.Fatalf("%d round trips for one batch in Cluster mode, want 1", st.RoundTrips)
	}
	if got := mgets() - before; got != int64(len(slots)) {
		t.Fatalf("the cluster ran %d MGETs for keys in %d slots, want one per slot", got, len(slots))
	}
	t.Logf("%d keys in %d slots over 3 masters: one pipelined round trip, %d MGETs", n, len(slots), len(slots))
}

// TestSentinel reads and writes through a real Sentinel that monitors a
// private master: the client UniversalClient returns for a MasterName.
func TestSentinel(t *testing.T) {
	master := servicetest.StartRedis(t, servicetest.RedisOptions{})
	dir := t.TempDir()
	port := servicetest.FreePort(t)
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor fs 127.0.0.1 %d 1\n", port, dir, master.Port)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sentinel := exec.Command("redis-server", conf, "--sentinel")
	if err := sentinel.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sentinel.Process.Kill(); sentinel.Wait() })

	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}, MasterName: "fs"})
	defer client.Close()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for client.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("no master through the sentinel: %v", client.Ping(ctx).Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
	spec := parseSpec(t, storeSpec)
	w, err := NewWriter(client, &spec.FeatureSets[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []Entity{{Key: "st:s", Values: []float32{7, 8}}}); err != nil {
		t.Fatal(err)
	}
	store, err := New(client, spec, Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := schemas.EnrichInput{Rows: 1, Cols: cols, Features: []float32{0, 0.5, 2, 30, 1}, Keys: [][]string{{"st:s"}, {"pr:s"}}}
	if _, err := store.Enrich(ctx, b); err != nil {
		t.Fatal(err)
	}
	if b.Features[1] != 7 || b.Features[2] != 8 {
		t.Fatalf("row through the sentinel's master = %v", b.Features)
	}
	// The data is on the master the sentinel names.
	direct := redis.NewClient(&redis.Options{Addr: master.Addr})
	defer direct.Close()
	if direct.Exists(ctx, "st:s").Val() != 1 {
		t.Fatal("the entity is not on the monitored master")
	}
}
