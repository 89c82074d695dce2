package sweep

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets"
)

// matrixFromBytes decodes arbitrary bytes into a matrix: a few plan bytes,
// then one cell per 12 bytes, with every field free to be nonsense (unknown
// modes, outcomes and states, zero frequencies, repeated keys).
func matrixFromBytes(b []byte) *Matrix {
	m := &Matrix{}
	next := func() byte {
		if len(b) == 0 {
			return 0
		}
		v := b[0]
		b = b[1:]
		return v
	}
	flags := next()
	m.Cancelled = flags&1 != 0
	m.Header.Voltage, m.Header.HasVoltage = float64(next())/50, flags&4 != 0
	if flags&2 != 0 {
		for i := range int(next() % 5) {
			m.Plan.Modes = append(m.Plan.Modes, probe.ConnectMode(int(next())%4-i%2))
		}
		for range int(next() % 4) {
			m.Plan.APs = append(m.Plan.APs, next()%3)
		}
		for range int(next() % 6) {
			m.Plan.FrequenciesKHz = append(m.Plan.FrequenciesKHz, int(next())*40)
		}
	}
	states := []targets.ProductState{0, targets.StateOpen, targets.StateProvisioning, targets.StateIROTProvisioned,
		targets.StateTZClosed, targets.StateClosed, targets.StateLocked, 0x42}
	layers := []probe.Layer{"", probe.LayerUSB, probe.LayerProbe, probe.LayerDP, probe.LayerAP, probe.LayerTarget}
	outcomes := append(Outcomes(), "bogus", "")
	idcodes := []uint32{0, h533IDCode, 0x10006474, 0x10006484, 0x10006999}
	for len(b) >= 12 && len(m.Cells) < 200 {
		c := Cell{
			Key:     Key{Mode: probe.ConnectMode(int(b[0]%5) - 1), AP: b[1] % 4, KHz: int(b[2]) * 40},
			Outcome: outcomes[int(b[3])%len(outcomes)],
			State:   states[int(b[4])%len(states)],
			TZEN:    targets.TZEN(b[5]),
			Layer:   layers[int(b[6])%len(layers)],
			IDCode:  idcodes[int(b[7])%len(idcodes)],
			Status:  proto.Status(b[8]),
			Core:    probe.CoreState(int(b[9] % 6)),
		}
		if b[10]&1 != 0 {
			c.DPIDR = h5DPIDR
		}
		if b[10]&2 != 0 {
			c.APIDR = ap1IDR
		}
		if b[10]&4 != 0 {
			c.CPUID = m33CPUID
		}
		if b[10]&8 != 0 {
			c.HasAPStatus, c.APPresent, c.APEnabled = true, uint16(b[11]&3), uint16(b[11]>>2&3)
		}
		if b[10]&16 != 0 {
			c.DA = &targets.DAStatus{Checked: b[11]&16 != 0, Provisioned: b[11]&32 != 0,
				Method: targets.DAMethod(b[11] >> 6), SamplePassword: b[11]&1 != 0, Source: "fuzz"}
		}
		c.Wire = time.Duration(binary.LittleEndian.Uint16(b[10:12])) * time.Microsecond
		m.Cells = append(m.Cells, c)
		b = b[12:]
	}
	return m
}

// checkAny runs the diagnosis and every export over m; none may panic, and
// every finding must be well formed and cite only cells of m.
func checkAny(t *testing.T, m *Matrix) {
	fs := Diagnose(m)
	for i, f := range fs {
		if f.Rule == "" || f.Title == "" {
			t.Fatalf("finding %d malformed: %+v", i, f)
		}
		if i > 0 && f.Severity > fs[i-1].Severity {
			t.Fatalf("findings out of order: %v", ruleIDs(fs))
		}
		for _, k := range f.Cells {
			if m.Find(k) == nil {
				t.Fatalf("%s cites %v, not in the matrix", f.Rule, k)
			}
		}
	}
	for _, w := range []func(io.Writer) error{
		func(w io.Writer) error { return WriteJSON(w, m, fs) },
		func(w io.Writer) error { return WriteCSV(w, m) },
		func(w io.Writer) error { return WriteMarkdown(w, m, fs) },
		func(w io.Writer) error { return WriteText(w, m, fs) },
	} {
		if err := w(io.Discard); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzDiagnose(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 164, 3, 0, 1, 2, 2, 0, 1, 2, 3, 100, 0,
		1, 1, 25, 0, 2, 0xB4, 4, 1, 0x11, 2, 15, 0,
		2, 1, 25, 1, 1, 0xC3, 0, 1, 0, 1, 0xFF, 0xFF})
	f.Add(bytes.Repeat([]byte{1, 1, 100, 2, 4, 0xB4, 4, 1, 0x11, 0, 3, 1}, 30))
	f.Add(bytes.Repeat([]byte{2, 0, 100, 5, 0, 0, 3, 0, 0x16, 0, 0, 0}, 30))
	f.Add(bytes.Repeat([]byte{3, 1, 2, 0, 2, 0xB4, 0, 1, 0, 1, 15, 7, 1, 1, 2, 2, 2, 0xB4, 4, 1, 0x11, 0, 3, 1}, 10))
	f.Add(bytes.Repeat([]byte{3, 1, 2, 0, 2, 0xB4, 0, 1, 0, 1, 31, 0x71, 1, 1, 2, 0, 2, 0xC3, 4, 1, 0, 0, 31, 0x30}, 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAny(t, matrixFromBytes(b))
	})
}

// FuzzReadJSON feeds arbitrary documents to the JSON reader; whatever it
// accepts must diagnose and export without panicking and survive a second
// round trip.
func FuzzReadJSON(f *testing.F) {
	var b bytes.Buffer
	m := seedMatrix()
	_ = WriteJSON(&b, m, Diagnose(m))
	f.Add(b.String())
	b.Reset()
	m = silentPathsMatrix()
	_ = WriteJSON(&b, m, Diagnose(m))
	f.Add(b.String())
	f.Add(`{"other_paths":[{"path":"uart"}],"findings":[{"other_path":true,"severity":"info","rule":"r","title":"t","checks":["x"]}]}`)
	f.Add(`{"cells":[{"mode":"hotplug","ap":1,"khz":0,"outcome":"ok","product_state":"0x17","tzen":"0xB4","idcode":"0x10006478"}]}`)
	f.Add(`{"cells":[{"mode":"hotplug","ap":1,"khz":1800,"outcome":"ok","product_state":{"code":"0x17","name":"PROVISIONING"},"tzen":"0xB4"}]}`)
	f.Add(`{"plan":{"modes":["normal"],"aps":[7],"frequencies_khz":[-1]},"cells":[{"mode":"normal","outcome":"skipped","ap_enabled":"0x0"}]}`)
	f.Add(`{}`)
	f.Add(`{"cells":[{"mode":"hotplug","ap":1,"outcome":"ok","product_state":"0x17","idcode":"0x10006478","da":{"checked":true,"provisioned":true,"method":"certificate","source":"x"}}]}`)
	f.Add(`{"cells":[{"mode":"hotplug","ap":1,"outcome":"ok","da":{"method":"sideways"}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := ReadJSON(strings.NewReader(doc))
		if err != nil {
			return
		}
		checkAny(t, m)
		var out bytes.Buffer
		if err := WriteJSON(&out, m, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadJSON(&out); err != nil {
			t.Fatalf("re-reading our own JSON: %v", err)
		}
	})
}

// Partial matrices straight from a cancelled Run diagnose cleanly at every
// cancellation point.
func TestDiagnoseEveryCancellationPoint(t *testing.T) {
	total := len(defaultTestPlan().Keys())
	for stop := 0; stop <= total; stop++ {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		s := &scripted{fw: v2(46), connect: func(ctx context.Context, k Key) (*probe.ConnectReport, error) {
			n++
			if n > stop {
				cancel()
			}
			if k.AP == 1 && k.Mode != probe.ModeHotPlug {
				return &probe.ConnectReport{Mode: k.Mode, AP: k.AP, DPIDR: h5DPIDR, DPOK: true, APIDR: ap1IDR,
					FailedStep: probe.StepReadCPUID, Err: probe.ErrSWDAPFault}, nil
			}
			return okReport(k), nil
		}}
		m, _ := run(ctx, s, Plan{}, Options{})
		cancel()
		checkAny(t, m)
	}
}
