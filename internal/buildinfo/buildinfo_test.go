package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go run: nothing stamped", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no version at all", debug.BuildInfo{}, "dev"},
		{"go build in a clean checkout", debug.BuildInfo{
			Main: debug.Module{Version: "v0.0.0-20261204101500-0123456789ab"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
				{Key: "vcs.time", Value: "2026-12-04T10:15:00Z"},
				{Key: "vcs.modified", Value: "false"},
			}},
			"v0.0.0-20261204101500-0123456789ab (commit 0123456789ab, 2026-12-04T10:15:00Z)"},
		{"a tagged release built from a modified tree", debug.BuildInfo{
			Main: debug.Module{Version: "v1.2.0+dirty"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "fedcba9876543210"},
				{Key: "vcs.modified", Value: "true"},
			}},
			"v1.2.0+dirty (commit fedcba987654, modified)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuildInfo(&tt.bi).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
