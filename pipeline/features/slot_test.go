package features

import "testing"

// Values from CLUSTER KEYSLOT of redis-server 7.0.
func TestSlotMatchesRedis(t *testing.T) {
	cases := []struct {
		key  string
		slot int
	}{
		{"123456789", 12739},
		{"foo", 12182},
		{"bar", 5061},
		{"user:42", 15880},
		{"{user1000}.following", 3443},
		{"foo{}{bar}", 8363},
		{"foo{{bar}}zap", 4015},
		{"foo{bar}{zap}", 5061},
		{"", 0},
		{"user:{42}", 8000},
		{"{}", 15257},
		{"a{b}", 3300},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			if got := Slot(tc.key); got != tc.slot {
				t.Errorf("Slot(%q) = %d, want %d", tc.key, got, tc.slot)
			}
		})
	}
	if got := crc16("123456789"); got != 0x31C3 {
		t.Errorf("crc16(123456789) = %#x, want the XMODEM check value 0x31c3", got)
	}
}
