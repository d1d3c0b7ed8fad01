//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/internal/servicetest"
)

// TestServeEnrichesLikeRun scores the same events with run (from a topic)
// and with serve (POST /v1/score), both with a schema whose feature set
// lives in Redis: serve must read the stored features as run does, so every
// event gets the same score and the same features_missing flag, and both
// match the model computed here from its weights.
func TestServeEnrichesLikeRun(t *testing.T) {
	brokers := strings.Split(servicetest.Env(t, "STREAMSCORE_BROKERS"), ",")
	servicetest.Env(t, "ONNXRUNTIME_LIB")
	redisAddr := strings.Split(servicetest.Env(t, "STREAMSCORE_REDIS"), ",")[0]
	const n, keys, perRequest = 2000, 200, 250
	uf := makeUserFeatures(keys)
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	for k := 9; k < keys; k += 10 { // absent users stay absent, whatever ran before
		rc.Del(t.Context(), fmt.Sprintf("user:user-%d", k))
	}
	loadUserFeatures(t, redisAddr, uf)

	in, outTopic, dlq, group := uniqueTopics("it-serve-fs")
	cfg := featuresConfig(t, in, outTopic, dlq, group, redisAddr, "features: {policy: fail_closed}")
	if b, err := exec.Command(binPath, "topics", "create", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("topics create: %v\n%s", err, b)
	}
	evs := makeEvents(n, keys, 23)
	produce(t, brokers, in, evs)
	run, _ := startRun(t, cfg)
	fromRun := readAll(t, brokers, outTopic, n, 90*time.Second)
	run.Process.Signal(syscall.SIGTERM)
	if err := run.Wait(); err != nil {
		t.Fatalf("run did not exit 0 after SIGTERM: %v", err)
	}
	checkScores(t, fromRun, evs, uf, false)

	srv, logs := startServe(t, cfg)
	url := "http://" + servicetest.WaitAddr(t, logs, "http_addr", 30*time.Second) + "/v1/score"
	var fromServe []kafka.Message
	for lo := 0; lo < n; lo += perRequest {
		var body bytes.Buffer
		body.WriteByte('[')
		for i := lo; i < lo+perRequest; i++ {
			if i > lo {
				body.WriteByte(',')
			}
			body.Write(evs[i].value)
		}
		body.WriteByte(']')
		resp, err := http.Post(url, "application/json", &body)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		var answers []json.RawMessage
		if err != nil || resp.StatusCode != 200 || json.Unmarshal(raw, &answers) != nil || len(answers) != perRequest {
			t.Fatalf("POST /v1/score of events %d..%d: %d %v %.300s", lo, lo+perRequest, resp.StatusCode, err, raw)
		}
		for _, a := range answers {
			fromServe = append(fromServe, kafka.Message{Value: a})
		}
	}
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve did not exit 0 after SIGTERM: %v", err)
	}
	checkScores(t, fromServe, evs, uf, false)

	byID := map[string]fsScored{}
	for _, m := range fromRun {
		var ev fsScored
		json.Unmarshal(m.Value, &ev)
		byID[ev.ID] = ev
	}
	missing := 0
	for _, m := range fromServe {
		var got fsScored
		if err := json.Unmarshal(m.Value, &got); err != nil {
			t.Fatalf("serve answered %s: %v", m.Value, err)
		}
		want, ok := byID[got.ID]
		if !ok || got.Missing != want.Missing || !closeTo(got.Scores["score"], want.Scores["score"]) {
			t.Fatalf("event %s: serve scored %v (features_missing %v), run %v (features_missing %v)", got.ID, got.Scores["score"], got.Missing, want.Scores["score"], want.Missing)
		}
		if got.Missing {
			missing++
		}
	}
	if missing == 0 || missing == n {
		t.Fatalf("%d of %d events flagged features_missing; want those of the absent users only", missing, n)
	}
}
