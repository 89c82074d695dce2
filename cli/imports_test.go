package cli

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The command line is a client of the bench: it never reaches the console
// (the entry point hands it in through Config) nor the SSH server.
func TestImportsPointOneWay(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/stprobe/stprobe/"
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			rest, ours := strings.CutPrefix(path, module)
			if !ours {
				continue
			}
			if top, _, _ := strings.Cut(rest, "/"); top == "tui" || top == "serve" || top == "cli" {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
