// Package buildinfo says which connectd is running: the module version and
// the commit that the go command stamped into the binary. A person filing a
// bug needs both; `connectd version`, /healthz and the startup log line show
// them.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info is what the binary knows of its own build.
type Info struct {
	// Version is the module version ("v1.2.0", or a pseudo-version such as
	// "v0.0.0-20261204101500-0123456789ab" that go build derives from the
	// commit); "dev" when none was stamped (go run, go test).
	Version string `json:"version"`
	// Commit is the VCS revision, empty when none was stamped.
	Commit string `json:"commit,omitempty"`
	// CommitTime is the revision's time (RFC 3339), empty when unknown.
	CommitTime string `json:"commitTime,omitempty"`
	// Modified reports uncommitted changes in the build's work tree.
	Modified bool `json:"modified,omitempty"`
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "dev"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version}
	if info.Version == "" || info.Version == "(devel)" {
		info.Version = "dev"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one-line form: "v0.0.0-… (commit 0123456789ab, 2026-12-04T10:15:00Z, modified)".
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		parts = append(parts, "commit "+c)
	}
	if i.CommitTime != "" {
		parts = append(parts, i.CommitTime)
	}
	if i.Modified {
		parts = append(parts, "modified")
	}
	if len(parts) == 0 {
		return i.Version
	}
	return i.Version + " (" + strings.Join(parts, ", ") + ")"
}
