package serve

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// vtScreen is the text a terminal shows after a console's output: just
// enough of a terminal (cursor moves, erasing, inserting and deleting,
// scrolling margins) to follow the console's renderer, which sends only
// what changed. Colours and styles are ignored.
type vtScreen struct {
	w, h     int
	cells    [][]string // "" is the right half of a wide character
	x, y     int
	top, bot int // scrolling margins, inclusive
	autowrap bool
	insert   bool
	pending  bool // the last column was written: the next character wraps
	last     string
	savedX   int
	savedY   int
	parser   *ansi.Parser
	unknown  map[string]int // sequences not followed, by name
}

func newVTScreen(w, h int) *vtScreen {
	s := &vtScreen{w: w, h: h, autowrap: true, parser: ansi.NewParser(), unknown: map[string]int{}}
	s.cells = make([][]string, h)
	for y := range s.cells {
		s.cells[y] = make([]string, w)
	}
	s.top, s.bot = 0, h-1
	s.clear(0, h)
	return s
}

func (s *vtScreen) clear(y0, y1 int) {
	for y := max(0, y0); y < min(s.h, y1); y++ {
		for x := range s.cells[y] {
			s.cells[y][x] = " "
		}
	}
}

// line is the text of row y.
func (s *vtScreen) line(y int) string { return strings.Join(s.cells[y], "") }

// text is the whole screen, one line a row.
func (s *vtScreen) text() string {
	lines := make([]string, s.h)
	for y := range lines {
		lines[y] = s.line(y)
	}
	return strings.Join(lines, "\n")
}

// write follows one chunk of output; a sequence cut at the chunk's end is
// followed when the rest arrives (the caller keeps the bytes).
func (s *vtScreen) write(b []byte) (used int) {
	for len(b) > 0 {
		seq, width, n, st := ansi.DecodeSequence(b, ansi.NormalState, s.parser)
		if n == 0 {
			break
		}
		if st != ansi.NormalState && n == len(b) {
			// an unfinished sequence: wait for the rest
			break
		}
		s.do(seq, width)
		b = b[n:]
		used += n
	}
	return used
}

func (s *vtScreen) do(seq []byte, width int) {
	switch {
	case len(seq) == 0 || seq[0] == 0x7f:
	case len(seq) == 1 && seq[0] < 0x20:
		s.control(seq[0])
	case seq[0] != 0x1b:
		s.print(string(seq), max(width, 1))
	case ansi.HasCsiPrefix(seq):
		s.csi()
	case ansi.HasOscPrefix(seq), ansi.HasDcsPrefix(seq), ansi.HasApcPrefix(seq), ansi.HasSosPrefix(seq), ansi.HasPmPrefix(seq):
	case ansi.HasEscPrefix(seq) && len(seq) >= 2:
		s.esc(seq[len(seq)-1], seq)
	default:
		s.unknown[fmt.Sprintf("%q", seq)]++
	}
}

func (s *vtScreen) print(g string, wd int) {
	if s.pending && s.autowrap {
		s.x = 0
		s.lineFeed()
	}
	s.pending = false
	if s.x+wd > s.w {
		if !s.autowrap {
			s.x = s.w - wd
		} else {
			s.x = 0
			s.lineFeed()
		}
	}
	row := s.cells[s.y]
	if s.insert {
		copy(row[s.x+wd:], row[s.x:])
	}
	row[s.x] = g
	for i := 1; i < wd; i++ {
		row[s.x+i] = ""
	}
	s.last = g
	s.x += wd
	if s.x >= s.w {
		s.x = s.w - 1
		s.pending = true
	}
}

func (s *vtScreen) control(c byte) {
	switch c {
	case '\r':
		s.x, s.pending = 0, false
	case '\n', '\v', '\f':
		s.lineFeed()
	case '\b':
		s.pending = false
		s.x = max(0, s.x-1)
	case '\t':
		s.x = min(s.w-1, (s.x/8+1)*8)
	case '\a', 0x0e, 0x0f:
	default:
		s.unknown[fmt.Sprintf("C0 %#x", c)]++
	}
}

// lineFeed moves down a row, scrolling at the bottom margin.
func (s *vtScreen) lineFeed() {
	s.pending = false
	if s.y == s.bot {
		s.scrollUp(1)
		return
	}
	s.y = min(s.h-1, s.y+1)
}

func (s *vtScreen) scrollUp(n int) {
	for range n {
		copy(s.cells[s.top:s.bot+1], s.cells[s.top+1:s.bot+1])
		s.cells[s.bot] = s.blankRow()
	}
}

func (s *vtScreen) scrollDown(n int) {
	for range n {
		copy(s.cells[s.top+1:s.bot+1], s.cells[s.top:s.bot])
		s.cells[s.top] = s.blankRow()
	}
}

func (s *vtScreen) blankRow() []string {
	r := make([]string, s.w)
	for i := range r {
		r[i] = " "
	}
	return r
}

func (s *vtScreen) esc(final byte, seq []byte) {
	switch final {
	case 'M': // reverse index
		if s.y == s.top {
			s.scrollDown(1)
		} else {
			s.y = max(0, s.y-1)
		}
	case 'D':
		s.lineFeed()
	case 'E':
		s.x = 0
		s.lineFeed()
	case '7':
		s.savedX, s.savedY = s.x, s.y
	case '8':
		s.x, s.y = s.savedX, s.savedY
	case '=', '>':
	default:
		s.unknown[fmt.Sprintf("ESC %q", seq)]++
	}
	s.pending = false
}

func (s *vtScreen) csi() {
	cmd := ansi.Cmd(s.parser.Command())
	p := func(i, def int) int {
		v, _ := s.parser.Param(i, def)
		if v == 0 && def > 0 {
			v = def
		}
		return v
	}
	clampX := func(x int) int { return min(max(0, x), s.w-1) }
	clampY := func(y int) int { return min(max(0, y), s.h-1) }
	if cmd.Prefix() != 0 || cmd.Intermediate() != 0 { // private modes, keyboard and terminal queries
		if cmd.Prefix() == '?' && (cmd.Final() == 'h' || cmd.Final() == 'l') {
			on := cmd.Final() == 'h'
			for _, prm := range s.parser.Params() {
				switch prm.Param(0) {
				case 7:
					s.autowrap = on
				case 1049, 47, 1047:
					s.clear(0, s.h)
				}
			}
		}
		return
	}
	s.pending = false
	switch cmd.Final() {
	case 'H', 'f':
		s.y, s.x = clampY(p(0, 1)-1), clampX(p(1, 1)-1)
	case 'A':
		s.y = max(0, s.y-p(0, 1))
	case 'B':
		s.y = clampY(s.y + p(0, 1))
	case 'C':
		s.x = clampX(s.x + p(0, 1))
	case 'D':
		s.x = clampX(s.x - p(0, 1))
	case 'E':
		s.y, s.x = clampY(s.y+p(0, 1)), 0
	case 'F':
		s.y, s.x = clampY(s.y-p(0, 1)), 0
	case 'G', '`':
		s.x = clampX(p(0, 1) - 1)
	case 'd':
		s.y = clampY(p(0, 1) - 1)
	case 'I':
		for range p(0, 1) {
			s.x = min(s.w-1, (s.x/8+1)*8)
		}
	case 'Z':
		for range p(0, 1) {
			s.x = max(0, (s.x-1)/8*8)
		}
	case 'K':
		row := s.cells[s.y]
		switch p(0, 0) {
		case 0:
			for x := s.x; x < s.w; x++ {
				row[x] = " "
			}
		case 1:
			for x := 0; x <= s.x; x++ {
				row[x] = " "
			}
		case 2:
			s.cells[s.y] = s.blankRow()
		}
	case 'J':
		switch p(0, 0) {
		case 0:
			for x := s.x; x < s.w; x++ {
				s.cells[s.y][x] = " "
			}
			s.clear(s.y+1, s.h)
		case 1:
			s.clear(0, s.y)
			for x := 0; x <= s.x; x++ {
				s.cells[s.y][x] = " "
			}
		case 2, 3:
			s.clear(0, s.h)
		}
	case 'X':
		for x := s.x; x < min(s.w, s.x+p(0, 1)); x++ {
			s.cells[s.y][x] = " "
		}
	case 'b':
		for range p(0, 1) {
			s.print(s.last, max(1, ansi.StringWidth(s.last)))
		}
	case '@':
		n := min(p(0, 1), s.w-s.x)
		row := s.cells[s.y]
		copy(row[s.x+n:], row[s.x:])
		for x := s.x; x < s.x+n; x++ {
			row[x] = " "
		}
	case 'P':
		n := min(p(0, 1), s.w-s.x)
		row := s.cells[s.y]
		copy(row[s.x:], row[s.x+n:])
		for x := s.w - n; x < s.w; x++ {
			row[x] = " "
		}
	case 'L', 'M':
		if s.y < s.top || s.y > s.bot {
			return
		}
		top := s.top
		s.top = s.y
		if cmd.Final() == 'L' {
			s.scrollDown(p(0, 1))
		} else {
			s.scrollUp(p(0, 1))
		}
		s.top = top
		s.x = 0
	case 'S':
		s.scrollUp(p(0, 1))
	case 'T':
		s.scrollDown(p(0, 1))
	case 'r':
		t, b := p(0, 1)-1, p(1, s.h)-1
		if t < b && b < s.h {
			s.top, s.bot = t, b
		}
		s.x, s.y = 0, 0
	case 'h', 'l':
		if v, _ := s.parser.Param(0, 0); v == 4 {
			s.insert = cmd.Final() == 'h'
		}
	case 's':
		s.savedX, s.savedY = s.x, s.y
	case 'u':
		s.x, s.y = s.savedX, s.savedY
	case 'm', 'q', 'n', 'c', 't':
	default:
		s.unknown[fmt.Sprintf("CSI %q", string(cmd.Final()))]++
	}
}

// TestVTScreen: the benchmark's terminal follows the sequences the
// console's renderer sends.
func TestVTScreen(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // the first rows, trimmed on the right
	}{
		{"print and move", "ab\x1b[2;3Hcd\r\ne", []string{"ab", "  cd", "e"}},
		{"erase to the end of the line", "abcdef\x1b[1;3H\x1b[K", []string{"ab"}},
		{"repeat", "x\x1b[3b", []string{"xxxx"}},
		{"insert and delete characters", "abcd\x1b[1;2H\x1b[2@\x1b[1;1H\x1b[1P", []string{"  bcd"}},
		{"erase characters", "abcd\x1b[1;2H\x1b[2X", []string{"a  d"}},
		{"insert a line", "1\r\n2\r\n3\x1b[2;1H\x1b[L", []string{"1", "", "2", "3"}},
		{"delete a line", "1\r\n2\r\n3\x1b[1;1H\x1b[M", []string{"2", "3"}},
		{"horizontal and vertical positions", "\x1b[3d\x1b[4Gz\x1b[2`y", []string{"", "", " y z"}},
		{"a cut sequence", "a\x1b[", []string{"a"}},
		{"wide characters", "界x", []string{"界x"}},
		{"styles are ignored", "\x1b[1;38;5;75ma\x1b[m\x1b]8;;http://x\x07b", []string{"ab"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newVTScreen(10, 5)
			s.write([]byte(tc.in))
			for y, w := range tc.want {
				if got := strings.TrimRight(s.line(y), " "); got != w {
					t.Errorf("row %d: %q, want %q\n%s", y, got, w, s.text())
				}
			}
			if len(s.unknown) > 0 {
				t.Errorf("not followed: %v", s.unknown)
			}
		})
	}
}
