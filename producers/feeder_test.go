package producers

import (
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

func TestEventTime(t *testing.T) {
	tests := []struct {
		json string
		want time.Time
		ok   bool
	}{
		{`{"ts":1767225600123}`, time.UnixMilli(1767225600123), true},
		{`{"ts":0}`, time.UnixMilli(0), true},
		{`{"ts":"2026-01-01T00:00:00.123Z"}`, time.UnixMilli(1767225600123), true},
		{`{"ts":"2026-01-01T01:00:00+01:00"}`, time.UnixMilli(1767225600000), true},
		{`{"ts":"yesterday"}`, time.Time{}, false},
		{`{"ts":true}`, time.Time{}, false},
		{`{"ts":null}`, time.Time{}, false},
		{`{"other":1}`, time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.json, func(t *testing.T) {
			v, err := fastjson.Parse(tc.json)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := eventTime(v.Get("ts"))
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("eventTime = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
