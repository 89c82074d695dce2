package enum

import "testing"

type color uint8

type mode int

func TestName(t *testing.T) {
	names := []string{"red", "", "blue"}
	cases := []struct {
		v    color
		want string
	}{
		{0, "red"},
		{2, "blue"},
		{1, "color(1)"}, // a gap in the table is no name
		{3, "color(3)"},
		{255, "color(255)"},
	}
	for _, c := range cases {
		if got := Name(names, c.v, "color"); got != c.want {
			t.Errorf("Name(%d) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestWords(t *testing.T) {
	rows := []Words{{"normal", "Normal"}, {"hotplug", "Hot Plug"}}
	cases := []struct {
		v           mode
		name, title string
	}{
		{1, "hotplug", "Hot Plug"},
		{0, "normal", "Normal"},
		{-1, "mode(-1)", "mode(-1)"},
		{2, "mode(2)", "mode(2)"},
	}
	for _, c := range cases {
		if got := ShortName(rows, c.v, "mode"); got != c.name {
			t.Errorf("ShortName(%d) = %q, want %q", c.v, got, c.name)
		}
		if got := Title(rows, c.v, "mode"); got != c.title {
			t.Errorf("Title(%d) = %q, want %q", c.v, got, c.title)
		}
	}
}

func TestSparse(t *testing.T) {
	type status uint32
	names := map[status]string{0x80: "ok", 0x2000: "busy"}
	cases := []struct {
		v    status
		want string
	}{
		{0x80, "ok"},
		{0x2000, "busy"},
		{0x81, "status 0x00000081"},
	}
	for _, c := range cases {
		if got := Sparse(names, c.v, "status 0x%08X"); got != c.want {
			t.Errorf("Sparse(%#x) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := Sparse(map[mode]string{}, mode(-2), "mode %d"); got != "mode -2" {
		t.Errorf("a negative value: %q", got)
	}
}
