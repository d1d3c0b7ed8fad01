package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"go.uber.org/goleak"

	"github.com/streamscore/streamscore/pipeline"
	"github.com/streamscore/streamscore/schemas"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sumScorer scores a row as the sum of its features and records batch
// sizes.
type sumScorer struct {
	delay time.Duration
	fail  bool
	mu    sync.Mutex
	sizes []int
}

func (s *sumScorer) Name() string    { return "sum" }
func (s *sumScorer) Version() string { return "7" }

func (s *sumScorer) Score(_ context.Context, in pipeline.ScoreInput) (pipeline.ScoreResult, error) {
	s.mu.Lock()
	s.sizes = append(s.sizes, in.Rows)
	s.mu.Unlock()
	time.Sleep(s.delay)
	if s.fail {
		return pipeline.ScoreResult{}, errors.New("model exploded")
	}
	vals := make([]float64, in.Rows)
	for r := range in.Rows {
		for _, v := range in.Features[r*in.Cols : (r+1)*in.Cols] {
			vals[r] += float64(v)
		}
	}
	return pipeline.ScoreResult{Scores: []schemas.Scores{{Name: "score", Width: 1, Values: vals}}, Model: "sum", Version: "7"}, nil
}

func (s *sumScorer) maxBatch() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := 0
	for _, n := range s.sizes {
		m = max(m, n)
	}
	return m
}

func loadSpec(t *testing.T) *schemas.Spec {
	t.Helper()
	spec, err := schemas.Load("../../testdata/linear.schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// event returns an event whose features are i, i+1, ..., i+31 / 100, and
// the sum the scorer gives it.
func event(id string, i int) ([]byte, float64) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"event_id":%q,"user_id":"u-%d","ts":1732460000000`, id, i%7)
	sum := 0.0
	for f := range 32 {
		v := float32(i+f) / 100
		sum += float64(v)
		fmt.Fprintf(&b, `,"f%02d":%v`, f, v)
	}
	b.WriteString(`,"merchant":"m-1"}`)
	return b.Bytes(), sum
}

func startServer(t *testing.T, cfg Config, sc pipeline.Scorer) (*Server, *httptest.Server) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cfg.Spec, cfg.Mem = loadSpec(t), mem
	s, err := New(cfg, sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		mem.AssertSize(t, 0)
	})
	return s, hs
}

type scored struct {
	ID        string             `json:"event_id"`
	Topic     string             `json:"topic"`
	Partition int                `json:"partition"`
	Offset    int64              `json:"offset"`
	Model     string             `json:"model"`
	Version   string             `json:"model_version"`
	Scores    map[string]float64 `json:"scores"`
	Index     *int               `json:"index"`
	Error     *EventError        `json:"error"`
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestServeHTTP(t *testing.T) {
	_, hs := startServer(t, Config{}, &sumScorer{})
	good, sum := event("e1", 3)
	good2, sum2 := event("e2", 4)
	bad := `{"event_id":"e3","user_id":"u","ts":1,"f00":"x"}`

	code, body := post(t, hs.URL, string(good))
	var one scored
	if err := json.Unmarshal(body, &one); err != nil || code != 200 {
		t.Fatalf("single event: %d %s (%v)", code, body, err)
	}
	if one.ID != "e1" || one.Topic != "http" || one.Partition != -1 || one.Offset != 0 || one.Model != "sum" || one.Version != "7" || math.Abs(one.Scores["score"]-sum) > 1e-4 {
		t.Fatalf("single event scored as %+v, want score %v", one, sum)
	}

	code, body = post(t, hs.URL, bad)
	if code != 422 || !strings.Contains(string(body), `"reason":"type_mismatch"`) || !strings.Contains(string(body), `"field":"f00"`) {
		t.Fatalf("bad single event: %d %s", code, body)
	}

	code, body = post(t, hs.URL, "[ "+string(good)+" ,\n"+bad+","+string(good2)+", 5 ]")
	var many []scored
	if err := json.Unmarshal(body, &many); err != nil || code != 200 || len(many) != 4 {
		t.Fatalf("array: %d %s (%v)", code, body, err)
	}
	if many[0].ID != "e1" || many[2].ID != "e2" || many[2].Offset != 2 || math.Abs(many[2].Scores["score"]-sum2) > 1e-4 {
		t.Errorf("array results 0 and 2: %+v %+v", many[0], many[2])
	}
	if many[1].Error == nil || *many[1].Index != 1 || many[3].Error == nil || many[3].Error.Reason != "schema_mismatch" {
		t.Errorf("array results 1 and 3: %+v %+v", many[1], many[3])
	}

	for _, tc := range []struct {
		body string
		want string
	}{
		{"", "empty"},
		{"[]", "empty"},
		{"[" + string(good), "not closed"},
		{"[" + string(good) + " " + string(good2) + "]", "separated"},
		{string(good) + string(good2), "after the event"},
		{`"x"`, "starts with"},
	} {
		code, body := post(t, hs.URL, tc.body)
		if code != 400 || !strings.Contains(string(body), tc.want) {
			t.Errorf("body %.40q: %d %s, want 400 containing %q", tc.body, code, body, tc.want)
		}
	}

	resp, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET = %d, want 405", resp.StatusCode)
	}
}

func TestServeLimits(t *testing.T) {
	_, hs := startServer(t, Config{MaxBodyBytes: 1000, MaxEvents: 2}, &sumScorer{})
	ev, _ := event("e", 1)
	if code, body := post(t, hs.URL, strings.Repeat(" ", 1001)); code != 413 {
		t.Errorf("large body: %d %s", code, body)
	}
	small := `{"event_id":"a"}`
	if code, body := post(t, hs.URL, "["+small+","+small+","+small+"]"); code != 400 || !strings.Contains(string(body), "more than 2") {
		t.Errorf("3 events: %d %s", code, body)
	}
	_ = ev
}

func TestServeModelError(t *testing.T) {
	_, hs := startServer(t, Config{}, &sumScorer{fail: true})
	ev, _ := event("e", 1)
	if code, body := post(t, hs.URL, string(ev)); code != 500 || !strings.Contains(string(body), "model exploded") {
		t.Errorf("failing model: %d %s", code, body)
	}
}

// TestDynamicBatching checks that concurrent requests share batches and
// each gets its own answers back.
func TestDynamicBatching(t *testing.T) {
	sc := &sumScorer{delay: 2 * time.Millisecond}
	s, _ := startServer(t, Config{MaxRows: 64, MaxWait: 5 * time.Millisecond, Workers: 1}, sc)
	const clients, requests = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			for r := range requests {
				i := c*1000 + r
				ev, sum := event(fmt.Sprintf("e%d", i), i)
				res, err := s.Score(context.Background(), [][]byte{ev})
				if err != nil {
					errs <- err
					return
				}
				var got scored
				if err := json.Unmarshal(res[0].Scored, &got); err != nil {
					errs <- err
					return
				}
				if got.ID != fmt.Sprintf("e%d", i) || math.Abs(got.Scores["score"]-sum) > 1e-3 {
					errs <- fmt.Errorf("request %d got %+v, want score %v", i, got, sum)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := sc.maxBatch(); m < 2 || m > 64 {
		t.Errorf("largest batch %d rows, want requests to share batches of at most 64", m)
	}
}

func TestStop(t *testing.T) {
	s, err := New(Config{Spec: loadSpec(t)}, &sumScorer{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	ev, _ := event("e", 1)
	if _, err := s.Score(context.Background(), [][]byte{ev}); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if _, err := s.Score(context.Background(), [][]byte{ev}); !errors.Is(err, ErrStopped) {
		t.Errorf("Score after Run returned = %v, want ErrStopped", err)
	}
}
