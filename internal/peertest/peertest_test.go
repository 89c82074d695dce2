package peertest

import "testing"

func TestNeedFindsAnInstalledTool(t *testing.T) {
	if p := Need(t, "sh", "dash"); p == "" {
		t.Errorf("sh not found")
	}
}

func TestMissingFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	ft := &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		Missing(ft, "gone")
	}()
	if !ft.failed || ft.skipped {
		t.Errorf("in CI a missing peer must fail, not skip: failed %v, skipped %v", ft.failed, ft.skipped)
	}
	t.Setenv("CI", "")
	ft = &fakeT{TB: t}
	func() {
		defer func() { recover() }()
		Missing(ft, "gone")
	}()
	if ft.failed || !ft.skipped {
		t.Errorf("outside CI a missing peer skips: failed %v, skipped %v", ft.failed, ft.skipped)
	}
}

// fakeT records Fatalf and Skip instead of ending the test.
type fakeT struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Skip(...any)           { f.skipped = true; panic("skip") }
