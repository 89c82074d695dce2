package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/stprobe/stprobe"

// rule says which project packages a package (and, with a trailing "/...",
// every package below it) may import. The most specific rule applies.
type rule struct {
	pkg   string
	may   []string
	leaf  bool // imports nothing of the project
	about string
}

// rules is the architecture. A pattern ending in "/..." matches the package
// and every package below it.
var rules = []rule{
	{pkg: ".", about: "the entry point wires everything", may: []string{"..."}},
	// The faces ask the bench: they name chip facts and the result types of
	// the sweep, DA and the bootloader probe, never the driver, its
	// protocol, the option-byte rules or the state files. The CLI alone may
	// use the simulator, for its sim commands.
	{pkg: "cli/...", about: "the CLI renders bench jobs", may: []string{"bench", "targets/...", "probe/sweep", "probe/da", "boot/...", "safefile", "probe/sim/..."}},
	{pkg: "tui/...", about: "the console sits on the bench", may: []string{"tui/...", "bench", "targets/...", "probe/sweep", "probe/da"}},
	{pkg: "serve/...", about: "the SSH server serves the console", may: []string{"serve/...", "tui", "bench", "safefile"}},
	{pkg: "bench/...", about: "the bench owns the probe", may: []string{"guarded", "statefile", "capture", "boot/...", "safefile", "probe/...", "obytes/...", "flashprog/...", "flashimage/...", "targets/..."}},
	{pkg: "flashprog/...", about: "flash erase and program: plans, the guarded write's executor, journals", may: []string{"guarded", "statefile", "safefile", "flashimage/...", "adi", "targets/..."}},
	{pkg: "obytes/...", about: "option bytes know chips, not the driver's users", may: []string{"guarded", "statefile", "safefile", "probe", "probe/proto", "adi", "targets/..."}},
	{pkg: "probe/sweep/...", about: "the sweep drives the probe", may: []string{"probe", "probe/proto", "adi", "targets/..."}},
	{pkg: "probe/da/...", about: "debug authentication drives the probe", may: []string{"guarded", "safefile", "probe/da/...", "probe", "probe/proto", "adi", "targets/..."}},
	{pkg: "boot/...", about: "the ROM bootloader over DFU and UART, beside the driver", may: []string{"boot/...", "targets/...", "safefile"}},
	{pkg: "probe/sim/...", about: "the simulated probe hosts the chip models", may: []string{"probe/sim/...", "probe/proto", "adi", "probe/stlinkserver", "targets/..."}},
	{pkg: "probe", about: "the driver knows the ADI interface, not chips", may: []string{"probe/proto", "adi", "probe/stlinkserver"}},
	{pkg: "probe/proto", leaf: true, about: "protocol tables"},
	{pkg: "adi", leaf: true, about: "ARM debug register definitions (the ground floor: the driver and the chip models)"},
	{pkg: "enum", leaf: true, about: "names of enumerated values (the ground floor: every package may use it)"},
	{pkg: "probe/stlinkserver", leaf: true, about: "the stlink-server wire format"},
	{pkg: "targets", leaf: true, about: "chip facts"},
	{pkg: "capture", about: "the capture file format: chip facts only", may: []string{"targets"}},
	{pkg: "safefile", leaf: true, about: "bounded reads of the files users hand in"},
	{pkg: "flashimage/...", about: "firmware files (BIN, Intel HEX, ELF) as segments", may: []string{"flashimage/..."}},
	{pkg: "guarded", about: "the one shape of a guarded write: plan, guard, events, outcome, record", may: []string{"statefile", "targets"}},
	{pkg: "statefile", about: "the state directory: backups, journals and locks, the audit log", may: []string{"safefile"}},
	{pkg: "targets/...", about: "chip models", may: []string{"targets/...", "adi"}},
	{pkg: "internal/...", leaf: true, about: "tests of the project itself"},
}

// everyonesGround is the one package every package may import, leaf
// packages too: the names of enumerated values, which knows nothing else.
const everyonesGround = "enum"

// match reports whether pattern matches pkg, and how specific the match is.
func match(pattern, pkg string) (bool, int) {
	switch {
	case pattern == "...":
		return true, 0
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		if pkg == base || strings.HasPrefix(pkg, base+"/") {
			return true, len(base)
		}
		return false, 0
	}
	return pattern == pkg, len(pattern) + 1
}

// ruleFor is the most specific rule for pkg.
func ruleFor(pkg string) (rule, bool) {
	var best rule
	bestLen := -1
	for _, r := range rules {
		if ok, n := match(r.pkg, pkg); ok && n > bestLen {
			best, bestLen = r, n
		}
	}
	return best, bestLen >= 0
}

// projectImports maps each package directory (relative, "." for the root)
// to the project packages its non-test files import.
func projectImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			switch {
			case p == module:
				out[rel] = append(out[rel], ".")
			case strings.HasPrefix(p, module+"/"):
				out[rel] = append(out[rel], strings.TrimPrefix(p, module+"/"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the sources: %v", err)
	}
	return out
}

// check returns one line per import against the architecture.
func check(imports map[string][]string) []string {
	var bad []string
	for pkg, ims := range imports {
		r, ok := ruleFor(pkg)
		if !ok {
			bad = append(bad, pkg+": no layering rule names this package; add one")
			continue
		}
		seen := map[string]bool{}
		for _, im := range ims {
			if im == pkg || seen[im] {
				continue
			}
			seen[im] = true
			allowed := im == everyonesGround
			if !r.leaf {
				for _, m := range r.may {
					if ok, _ := match(m, im); ok {
						allowed = true
					}
				}
			}
			if im == "cli" || strings.HasPrefix(im, "cli/") {
				allowed = pkg == "."
			}
			if (im == "tui" || strings.HasPrefix(im, "tui/")) && !strings.HasPrefix(pkg, "tui") {
				allowed = pkg == "." || pkg == "serve" || strings.HasPrefix(pkg, "serve/")
			}
			if !allowed {
				bad = append(bad, pkg+" imports "+im+" against the layering ("+r.about+")")
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func TestImportsPointOneWay(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	imports := projectImports(t, root)
	if len(imports) < 10 {
		t.Fatalf("found only %d packages: the walk is wrong", len(imports))
	}
	for _, line := range check(imports) {
		t.Error(line)
	}
}

// TestTheRulesCatchViolations proves the check fails on imports against the
// direction, so that a passing run means something.
func TestTheRulesCatchViolations(t *testing.T) {
	cases := []struct {
		pkg, imports string
		bad          bool
	}{
		{"bench", "probe/sweep", false},
		{"bench", "tui", true},
		{"bench", "cli", true},
		{"probe/sweep", "obytes", true},
		{"probe/sweep", "probe/da", true},
		{"obytes", "probe/sweep", true},
		{"probe", "targets", true},
		{"probe/proto", "adi", true},
		{"targets", "probe", true},
		{"probe/sim", "probe", true},
		{"probe/sim/scenario", "targets/stm32h5", false},
		{"tui", "bench", false},
		{"tui/matrix", "cli", true},
		{"serve", "tui", false},
		{"cli", "tui", true},
		{".", "cli", false},
		{"probe/da", "obytes", true},
		{"newpkg", "probe", true},
		{"tui/obpane", "obytes", true},
		{"tui/matrix", "probe", true},
		{"tui/dapane", "probe/sim/scenario", true},
		{"tui", "probe/proto", true},
		{"tui/dapane", "probe/da", false},
		{"cli", "obytes", true},
		{"cli", "probe", true},
		{"cli", "probe/proto", true},
		{"cli", "probe/sim/scenario", false},
		{"serve", "probe", true},
		{"serve", "obytes", true},
		{"tui/obpane", "statefile", true},
		{"cli", "statefile", true},
		{"statefile", "obytes", true},
		{"obytes", "statefile", false},
		// The guarded write's shape: below the bench and the kinds of
		// write, never named by a face, never naming a kind.
		{"tui/obpane", "guarded", true},
		{"cli", "guarded", true},
		{"serve", "guarded", true},
		{"guarded", "obytes", true},
		{"guarded", "probe/da", true},
		{"guarded", "probe", true},
		{"obytes", "guarded", false},
		{"probe/da", "guarded", false},
		{"bench", "guarded", false},
		// Every package names its enumerations through enum, which
		// itself imports nothing of the project.
		{"targets", "enum", false},
		{"probe/proto", "enum", false},
		{"tui/matrix", "enum", false},
		{"enum", "targets", true},
		{"enum", "adi", true},
	}
	for _, c := range cases {
		got := len(check(map[string][]string{c.pkg: {c.imports}})) > 0
		if got != c.bad {
			t.Errorf("%s importing %s: flagged %v, want %v", c.pkg, c.imports, got, c.bad)
		}
	}
}
