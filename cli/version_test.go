package cli

import (
	"runtime/debug"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "82c4ee0e70a8aa7135f1df5438edc293b7c271ec"
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"tagged module build", "v1.2.3", nil, "v1.2.3"},
		{"tagged clone build", "v1.2.3", vcs(rev, "2026-12-07T18:16:35Z", "false"), "v1.2.3"},
		{"tagged but modified", "v1.2.3+dirty", vcs(rev, "2026-12-07T18:16:35Z", "true"), "devel 82c4ee0e70a8 (2026-12-07T18:16:35Z, modified)"},
		{"clone, no tag", "v0.0.0-20261207181635-82c4ee0e70a8", vcs(rev, "2026-12-07T18:16:35Z", "false"), "devel 82c4ee0e70a8 (2026-12-07T18:16:35Z)"},
		{"clone after a tag", "v1.2.4-0.20261207181635-82c4ee0e70a8", vcs(rev, "2026-12-07T18:16:35Z", "false"), "devel 82c4ee0e70a8 (2026-12-07T18:16:35Z)"},
		{"clone, modified", "v0.0.0-20261207181635-82c4ee0e70a8+dirty", vcs(rev, "2026-12-07T18:16:35Z", "true"), "devel 82c4ee0e70a8 (2026-12-07T18:16:35Z, modified)"},
		{"older go: (devel)", "(devel)", vcs(rev, "", "false"), "devel 82c4ee0e70a8"},
		{"go install of a commit", "v0.0.0-20261207181635-82c4ee0e70a8", nil, "devel 82c4ee0e70a8"},
		{"no VCS information", "(devel)", nil, "devel (the build recorded no commit)"},
	}
	for _, tt := range tests {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/stprobe/stprobe", Version: tt.version}, Settings: tt.settings}
		if got := buildVersion(info, true); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := buildVersion(nil, false); got != "devel (no build information)" {
		t.Errorf("no build info: %q", got)
	}
}
