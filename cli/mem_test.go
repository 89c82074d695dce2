package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/stprobe/stprobe/bench"
)

// A file written into RAM through one stprobe run reads back through
// another: both reach the same board through `sim serve`. The write is
// unaligned and crosses 1 KiB boundaries.
func TestMemWriteReadBack(t *testing.T) {
	addr, stop := startSimServe(t, []string{"--sim", "h533-open"})
	dir := t.TempDir()
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	copy(data, "stprobe!")
	in := filepath.Join(dir, "in.bin")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "--server", addr, "mem", "write", "0x20000101", in)
	if code != 0 || !strings.Contains(out, "wrote 3000 bytes at 0x20000101") {
		t.Fatalf("mem write: exit %d\n%s%s", code, out, errOut)
	}
	back := filepath.Join(dir, "back.bin")
	if code, _, errOut := runCmd(t, "--server", addr, "mem", "read", "0x20000101", "3000", "-o", back); code != 0 {
		t.Fatalf("mem read -o: exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes differ from the %d written", len(got), len(data))
	}
	code, out, errOut = runCmd(t, "--server", addr, "mem", "read", "536871169", "0x10")
	want := "20000101  73 74 70 72 6F 62 65 21  38 3F 46 4D 54 5B 62 69  |stprobe!8?FMT[bi|\n"
	if code != 0 || out != want {
		t.Errorf("hex dump: exit %d\n got %q\nwant %q\n%s", code, out, want, errOut)
	}
	if code, stderr := stop(); code != 0 {
		t.Errorf("sim serve: exit %d: %s", code, stderr)
	}
}

// The bench writes only RAM: flash and peripherals are refused with the
// reason, and nothing is written.
func TestMemWriteRefused(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.bin")
	if err := os.WriteFile(in, []byte{1, 2, 3, 4}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ addr, want string }{
		{"0x08000000", "flash is written by its erase-and-program sequence"},
		{"0x40022000", "is not in the SRAM"},
	} {
		code, out, errOut := runCmd(t, "--sim", "h533-open", "mem", "write", tc.addr, in)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "stprobe mem: memory write refused") || !strings.Contains(errOut, tc.want) {
			t.Errorf("write at %s: exit %d, stdout %q, stderr %q; want exit 1 with %q", tc.addr, code, out, errOut, tc.want)
		}
	}
}

func TestMemReadRawToStdout(t *testing.T) {
	code, out, errOut := runCmd(t, "--sim", "h533-open", "mem", "read", "0x08000000", "1K", "-o", "-")
	if code != 0 || len(out) != 1024 || out != strings.Repeat("\xFF", 1024) {
		t.Errorf("exit %d, %d bytes (erased flash reads 0xFF): %s", code, len(out), errOut)
	}
}

func TestMemUsage(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.bin")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, bench.MaxMemRead+1); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.bin")
	if err := os.WriteFile(small, []byte("abcd"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"mem"}, "give a sub-command"},
		{[]string{"mem", "peek"}, `unknown sub-command "peek"`},
		{[]string{"mem", "read"}, "want 2 arguments: ADDR LEN"},
		{[]string{"mem", "read", "0x20000000"}, "want 2 arguments"},
		{[]string{"mem", "read", "0x20000000", "4", "5"}, `unexpected argument "5"`},
		{[]string{"mem", "read", "sram", "4"}, `address "sram"`},
		{[]string{"mem", "read", "0x100000000", "4"}, `address "0x100000000"`},
		{[]string{"mem", "read", "-1", "4"}, "unknown shorthand flag"},
		{[]string{"mem", "read", "0x20000000", "0"}, `length "0"`},
		{[]string{"mem", "read", "0x20000000", "17M"}, `length "17M"`},
		{[]string{"mem", "read", "0x20000000", "4Q"}, `length "4Q"`},
		{[]string{"mem", "read", "0x20000000", "K"}, `length "K"`},
		{[]string{"mem", "read", "0xFFFFFFF0", "0x20"}, "past the end of the address space"},
		{[]string{"mem", "read", "0x20000000", "4", "--ap", "256"}, "access port number"},
		{[]string{"mem", "write", "0x20000000"}, "want 2 arguments: ADDR FILE"},
		{[]string{"mem", "write", "0x20000000", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"mem", "write", "0x20000000", dir}, "is a directory"},
		{[]string{"mem", "write", "0x20000000", fifo}, "is a FIFO"},
		{[]string{"mem", "write", "0x20000000", "/dev/null"}, "is a character device"},
		{[]string{"mem", "write", "0x20000000", empty}, "empty"},
		{[]string{"mem", "write", "0x20000000", big}, "(16777216)"},
		{[]string{"mem", "write", "0xFFFFFFFE", small}, "past the end of the address space"},
	}
	for _, tc := range tests {
		code, out, errOut := runCmd(t, append([]string{"--sim", "h533-open"}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestParseLen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"1", 1}, {"4096", 4096}, {"0x400", 1024}, {"4K", 4096}, {"4k", 4096}, {"64KiB", 65536},
		{"64kib", 65536}, {"1M", 1 << 20}, {"16MiB", 16 << 20}, {"0x10K", 16 << 10}, {"16777216", 16 << 20},
		{"010", 10}, {"0X1f", 31},
	} {
		if got, err := parseLen(tc.in); err != nil || got != tc.want {
			t.Errorf("parseLen(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "0K", "-1", "16777217", "17M", "1G", "K", "KiB", "4KB", "4 K", "0x", "1.5K", "99999999999K", "0o17", "0b1", "1_000", "+4", "0x-1"} {
		if got, err := parseLen(bad); err == nil {
			t.Errorf("parseLen(%q) = %d, want an error", bad, got)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]uint32{"0x20000000": 0x20000000, "0XFFFFFFFF": 0xFFFFFFFF, "536870912": 0x20000000, "0": 0, "0100": 100} {
		if got, err := parseAddr(in); err != nil || got != want {
			t.Errorf("parseAddr(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0x", "0x100000000", "4294967296", "0o7", "0b1", "1_0", "-1", "sram"} {
		if got, err := parseAddr(bad); err == nil {
			t.Errorf("parseAddr(%q) = %#x, want an error", bad, got)
		}
	}
}

func TestHexDump(t *testing.T) {
	var b bytes.Buffer
	hexDump(&b, 0x2000000E, []byte("0123456789abcdef\x00\x7F\xFFz"))
	want := "2000000E  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n" +
		"2000001E  00 7F FF 7A                                       |...z|\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func FuzzParseLen(f *testing.F) {
	for _, s := range []string{"64K", "0x400", "16MiB", "K", "", "1kib", "0x10M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseLen(s)
		if err == nil && (n < 1 || n > bench.MaxMemRead) {
			t.Errorf("parseLen(%q) = %d: out of range", s, n)
		}
	})
}

// On a terminal, a long read shows its progress on stderr and clears the
// line when it is done; the dump itself goes to stdout.
func TestMemReadProgressOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	seen := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends when the tty side closes
		seen <- string(b)
	}()
	var out bytes.Buffer
	a := newApp(Config{}, nil, &out, tty)
	a.bench = simBench(t, "h533-open", nil)
	code := a.execute(context.Background(), []string{"mem", "read", "0x20000000", "8K", "-o", "-"})
	tty.Close()
	shown := <-seen
	if code != 0 || out.Len() != 8<<10 {
		t.Fatalf("exit %d, %d bytes on stdout; terminal:\n%q", code, out.Len(), shown)
	}
	if !strings.Contains(shown, "read memory  8192/8192 bytes  100%") || !strings.HasSuffix(shown, "\r") {
		t.Errorf("terminal shows %q; want the progress line, cleared", shown)
	}
}
