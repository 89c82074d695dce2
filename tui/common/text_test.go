package common

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// widthSamples are strings width must measure as ansi.StringWidth does.
var widthSamples = []string{
	"", "plain ASCII", "▸ PRODUCT_STATE   PROVISIONING (0x17)", "\x1b[1;38;2;1;2;3mbold\x1b[m ✓ done",
	"\x1b[7m▸*NSBOOTADD\x1b[m → 0x80100", "漢字 wide", "e\u0301 combining", "flag 🇫🇷", "\x1b]8;;http://x\x07link\x1b]8;;\x07",
	"\x1b[", "\x1b[31", "tab\tand\x00nul", "┏━━┓ ┃ ┗━━┛ ╭─╮ ╰─╯ │ ≠ • · — … ‼ ✖ ⟳ █ ░ ←",
}

func TestWidthMatchesAnsi(t *testing.T) {
	for _, s := range widthSamples {
		if got, want := Width(s), ansi.StringWidth(s); got != want {
			t.Errorf("Width(%q) = %d, ansi says %d", s, got, want)
		}
	}
}

func FuzzWidth(f *testing.F) {
	for _, s := range widthSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Width(s), ansi.StringWidth(s); got != want {
			t.Errorf("Width(%q) = %d, ansi says %d", s, got, want)
		}
	})
}

func TestFitAndOverlay(t *testing.T) {
	got := FitLines([]string{"abc", strings.Repeat("x", 12), "\x1b[1mbold\x1b[m"}, 8, 4)
	want := "abc     \nxxxxxxx…\nbold    \n        "
	if ansi.Strip(got) != want {
		t.Errorf("fit:\n%q\nwant\n%q", ansi.Strip(got), want)
	}
	bg := []string{"0123456789", "0123456789", "0123456789"}
	out := Overlay(bg, "AB\nCD", 10, 3)
	if strings.Join(out, "|") != "012 AB 789|012 CD 789|0123456789" {
		t.Errorf("overlay: %q", out)
	}
}
