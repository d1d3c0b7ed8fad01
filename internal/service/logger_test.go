package service

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

func TestLoggerWritesDurationsAsText(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, "info", format)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("drained", "took", 1500*time.Millisecond, slog.Group("g", "wait", 20*time.Millisecond))
			if format == "text" {
				if !bytes.Contains(buf.Bytes(), []byte("took=1.5s")) || !bytes.Contains(buf.Bytes(), []byte("g.wait=20ms")) {
					t.Errorf("text line %q lacks took=1.5s and g.wait=20ms", buf.String())
				}
				return
			}
			var line struct {
				Took any `json:"took"`
				G    struct {
					Wait any `json:"wait"`
				} `json:"g"`
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			if line.Took != "1.5s" || line.G.Wait != "20ms" {
				t.Errorf("took = %#v, g.wait = %#v; want \"1.5s\" and \"20ms\" (line %s)", line.Took, line.G.Wait, buf.String())
			}
		})
	}
}
