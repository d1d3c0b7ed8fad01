package drift

import (
	"reflect"
	"testing"
)

func TestBuildConfigInherit(t *testing.T) {
	dc := Config{Bins: 20, MaxCategories: 7, Categorical: []string{"country"}}
	tests := []struct {
		name string
		in   BuildConfig
		want BuildConfig
	}{
		{"unset takes the drift settings", BuildConfig{}, BuildConfig{Bins: 20, MaxCategories: 7, Categorical: []string{"country"}}},
		{"set wins", BuildConfig{Bins: 5, MaxCategories: 3, Categorical: []string{"device"}}, BuildConfig{Bins: 5, MaxCategories: 3, Categorical: []string{"device"}}},
		{"empty list is set", BuildConfig{Categorical: []string{}}, BuildConfig{Bins: 20, MaxCategories: 7, Categorical: []string{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.Inherit(dc)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Inherit = %+v, want %+v", got, tc.want)
			}
		})
	}
}
