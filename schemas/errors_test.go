package schemas_test

import (
	"testing"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

func TestDecodeErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  schemas.DecodeError
		want string
	}{
		{"with field", schemas.DecodeError{Reason: schemas.ReasonMissingField, Field: "amount", Msg: "required feature is missing or null"}, `missing_field: field "amount": required feature is missing or null`},
		{"without field", schemas.DecodeError{Reason: schemas.ReasonInvalidJSON, Msg: "unexpected end of input at byte 3"}, "invalid_json: unexpected end of input at byte 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDeadLetterHeaders(t *testing.T) {
	at := time.Date(2024, 11, 24, 16, 33, 20, 5e6, time.FixedZone("CET", 3600))
	msg := schemas.Message{
		Topic: "payments", Partition: 3, Offset: 1234,
		Headers: []schemas.Header{{Key: "traceparent", Value: []byte("00-abc-01")}, {Key: "streamscore.reason", Value: []byte("old")}},
	}
	tests := []struct {
		name string
		dl   schemas.DeadLetter
		want [][2]string
	}{
		{
			name: "every header",
			dl: schemas.DeadLetter{Msg: msg, Reason: schemas.ReasonTypeMismatch, Field: "amount", Detail: "expected float32",
				Schema: "payments/1", Model: "fraud", ModelVersion: "7", At: at},
			want: [][2]string{
				{"traceparent", "00-abc-01"},
				{"streamscore.reason", "old"},
				{schemas.HeaderReason, "type_mismatch"},
				{schemas.HeaderError, "expected float32"},
				{schemas.HeaderField, "amount"},
				{schemas.HeaderSourceTopic, "payments"},
				{schemas.HeaderSourcePartition, "3"},
				{schemas.HeaderSourceOffset, "1234"},
				{schemas.HeaderTime, "2024-11-24T15:33:20.005Z"},
				{schemas.HeaderSchema, "payments/1"},
				{schemas.HeaderModel, "fraud"},
				{schemas.HeaderModelVersion, "7"},
			},
		},
		{
			name: "empty values are left out",
			dl:   schemas.DeadLetter{Msg: schemas.Message{Topic: "t", Offset: 0}, Reason: schemas.ReasonInvalidJSON, At: at},
			want: [][2]string{
				{schemas.HeaderReason, "invalid_json"},
				{schemas.HeaderSourceTopic, "t"},
				{schemas.HeaderSourcePartition, "0"},
				{schemas.HeaderSourceOffset, "0"},
				{schemas.HeaderTime, "2024-11-24T15:33:20.005Z"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.dl.Headers()
			if len(got) != len(tc.want) {
				t.Fatalf("Headers() has %d headers, want %d: %v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				if got[i].Key != w[0] || string(got[i].Value) != w[1] {
					t.Errorf("header %d = %s: %q, want %s: %q", i, got[i].Key, got[i].Value, w[0], w[1])
				}
			}
		})
	}
	t.Run("original headers are not changed", func(t *testing.T) {
		m := msg
		m.Headers = msg.Headers[:1:1]
		dl := schemas.DeadLetter{Msg: m, Reason: schemas.ReasonNonFinite}
		dl.Headers()
		if len(m.Headers) != 1 || m.Headers[0].Key != "traceparent" {
			t.Errorf("message headers = %v after Headers()", m.Headers)
		}
	})
}

func TestReasonCodes(t *testing.T) {
	rs := schemas.Reasons()
	codes := schemas.ReasonCodes()
	if len(codes) != len(rs) || len(codes) == 0 {
		t.Fatalf("ReasonCodes() = %v, want one per reason of %v", codes, rs)
	}
	for i, r := range rs {
		if codes[i] != string(r) {
			t.Errorf("ReasonCodes()[%d] = %q, want %q", i, codes[i], r)
		}
	}
}
