package cli

import (
	"regexp"
	"runtime/debug"
	"strings"
)

// pseudoVersion matches the pseudo-versions the go command gives a commit
// that no tag names (v0.0.0-20060102150405-abcdefabcdef and its variants):
// see the "Pseudo-versions" section of the Go modules reference.
var pseudoVersion = regexp.MustCompile(`[-.]\d{14}-[0-9a-f]{12}$`)

// buildVersion is what --version prints for a build described by info: a
// tagged module version as it is (v1.2.3), otherwise "devel" with the
// commit the build came from, its time, and "modified" when the tree had
// changes not committed. The go command records the commit (vcs.revision,
// vcs.time, vcs.modified) when it builds inside a clone.
func buildVersion(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "devel (no build information)"
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if v := info.Main.Version; tagged(v) && !modified {
		return v
	}
	if m := pseudoVersion.FindString(info.Main.Version); rev == "" && m != "" {
		rev = m[len(m)-12:] // go install of a commit: the pseudo-version names it
	}
	if rev == "" {
		return "devel (the build recorded no commit)"
	}
	out := "devel " + rev[:min(len(rev), 12)]
	var notes []string
	if at != "" {
		notes = append(notes, at)
	}
	if modified {
		notes = append(notes, "modified")
	}
	if len(notes) > 0 {
		out += " (" + strings.Join(notes, ", ") + ")"
	}
	return out
}

// tagged reports whether v is a tagged module version: not empty, not
// "(devel)", no pseudo-version and no build metadata ("+dirty").
func tagged(v string) bool {
	return strings.HasPrefix(v, "v") && !strings.Contains(v, "+") && !pseudoVersion.MatchString(v)
}
