package scenario

import (
	"context"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/targets"
)

// hotPlugLink opens a Link on a fresh probe of s and powers the debug port up
// without touching NRST or the core, as Hot Plug does.
func hotPlugLink(t *testing.T, s Scenario) *probe.Link {
	t.Helper()
	return probeLink(t, s.Name, s.NewProbe())
}

// probeLink is hotPlugLink on the already built probe p of the board name.
func probeLink(t *testing.T, name string, p *sim.Probe) *probe.Link {
	t.Helper()
	ctx := context.Background()
	l, err := probe.NewLink(ctx, p)
	if err != nil {
		t.Fatalf("%s: NewLink: %v", name, err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.EnterSWD(ctx); err != nil {
		t.Fatalf("%s: EnterSWD: %v", name, err)
	}
	if _, err := l.PowerUpDebug(ctx); err != nil {
		t.Fatalf("%s: PowerUpDebug: %v", name, err)
	}
	return l
}

// identifyOn identifies the chip behind l, a link from hotPlugLink or
// probeLink.
func identifyOn(t *testing.T, l *probe.Link) *targets.Chip {
	t.Helper()
	ctx := context.Background()
	dpidr, err := l.ReadIDCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := targets.Identify(ctx, l, dpidr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// linkTo connects stprobe's driver to p (Hot Plug) and identifies the chip.
func linkTo(t *testing.T, p *sim.Probe) (*probe.Link, *targets.Chip) {
	t.Helper()
	l := probeLink(t, "stprobe", p)
	return l, identifyOn(t, l)
}

// TestIdentifyThroughLink identifies every line through the simulated
// ST-LINK and the driver's Link, and reads the product state and AP status.
func TestIdentifyThroughLink(t *testing.T) {
	tests := []struct {
		scenario  string
		line      string
		rev       string
		uid       bool
		flashKB   uint16
		state     targets.ProductState
		tzen      targets.TZEN
		apEnabled uint16
	}{
		{"h533-open", "STM32H523/H533", "A", true, 512, 0xED, 0xC3, 3},
		{"h533-provisioning", "STM32H523/H533", "A", true, 512, 0x17, 0xB4, 3},
		{"h503-open", "STM32H503", "A", true, 128, 0xED, 0x00, 3},
		{"h563-open", "STM32H562/H563/H573", "A", true, 2048, 0xED, 0xC3, 3},
		{"h533-tz-closed-no-da", "STM32H523/H533", "A", false, 0, 0, 0, 1},
		{"h533-closed-da", "STM32H523/H533", "A", false, 0, 0, 0, 1},
		{"h533-locked", "STM32H523/H533", "A", false, 0, 0, 0, 1},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := Lookup(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			l := hotPlugLink(t, s)
			c := identifyOn(t, l)
			if c.Line.Name != tt.line || c.Revision != tt.rev || c.IDCodeAP != 0 || c.HasUID != tt.uid || !c.DPIDRKnownForFamily {
				t.Errorf("identified %s (UID read %v, %v)", c, c.HasUID, c.EngineeringAreaErr)
			}
			if tt.uid && (c.FlashKB != tt.flashKB || c.UIDString() == "") {
				t.Errorf("engineering area: %s", c)
			}
			_, enabled, err := targets.ReadAPStatus(ctx, l)
			if err != nil || enabled != tt.apEnabled {
				t.Errorf("AP_ENABLED %#x err %v, want %#x", enabled, err, tt.apEnabled)
			}
			state, tz, err := targets.ReadProductState(ctx, l, c)
			if !tt.uid {
				if err == nil {
					t.Errorf("product state read through a closed AP1: %v", state)
				}
				return
			}
			if err != nil || state != tt.state || tz != tt.tzen {
				t.Errorf("product state %v TZEN %v err %v", state, tz, err)
			}
		})
	}
}

// TestConnectModes runs the driver's three connect modes on both APs of
// every scenario and compares with Expect.
func TestConnectModes(t *testing.T) {
	ctx := context.Background()
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			for _, c := range []struct {
				mode probe.ConnectMode
				ap   uint8
				want Outcome
			}{
				{probe.ModeNormal, 1, s.Expect.NormalAP1},
				{probe.ModeHotPlug, 1, s.Expect.HotPlugAP1},
				{probe.ModeUnderReset, 1, s.Expect.UnderResetAP1},
			} {
				l, err := probe.NewLink(ctx, s.NewProbe())
				if err != nil {
					t.Fatal(err)
				}
				r, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: c.mode, AP: c.ap})
				if err != nil {
					t.Fatalf("%v AP%d: transport error %v", c.mode, c.ap, err)
				}
				got := OK
				switch {
				case !r.DPOK:
					got = NoACK
				case !r.OK():
					got = Fails
				}
				if got != c.want {
					t.Errorf("%v AP%d: %v (failed step %q: %v), want %v", c.mode, c.ap, got, r.FailedStep, r.Err, c.want)
				}
				l.Close()
			}
		})
	}
}

// TestAP0ThroughLink checks the AP0 column: after a connect on AP0 (under
// reset where the board only answers then), DBGMCU IDCODE reads through AP0
// with a known DEV_ID, at the address its family keeps it.
func TestAP0ThroughLink(t *testing.T) {
	ctx := context.Background()
	for _, s := range List() {
		mode := probe.ModeHotPlug
		if s.Expect.AP0UnderResetOnly {
			mode = probe.ModeUnderReset
		}
		l, err := probe.NewLink(ctx, s.NewProbe())
		if err != nil {
			t.Fatal(err)
		}
		r, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: mode, AP: 0})
		if err != nil {
			t.Fatalf("%s: transport error %v", s.Name, err)
		}
		got := NoACK
		if r.DPOK {
			got = Fails
			// DBGMCU wherever a known family puts it behind AP0.
			if c, err := targets.IdentifyAP(ctx, l, 0, r.DPIDR); err == nil && c != nil {
				got = OK
			}
		}
		if got != s.Expect.AP0 {
			t.Errorf("%s: AP0 %v (connect %v: %v), want %v", s.Name, got, mode, r.Err, s.Expect.AP0)
		}
		l.Close()
	}
}

// TestOptionBytesThroughLink plays the seed thread over the simulated
// ST-LINK: OPEN → PROVISIONING (the link drops and must be reopened), then
// the backward write 0x17 → 0xED, which is refused with OPTCHANGEERR.
func TestOptionBytesThroughLink(t *testing.T) {
	ctx := context.Background()
	s, _ := Lookup("h533-open")
	p := s.NewProbe()
	m := Model(p)
	l, err := probe.NewLink(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	up := func() {
		t.Helper()
		if err := l.EnterSWD(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.PowerUpDebug(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w := func(addr, v uint32) error { return l.Write32(ctx, 1, addr, v) }
	const fl = targets.H5FlashRegs
	// program writes the state, starts the change and polls BSY. It returns
	// how many polls it took and whether the link dropped.
	program := func(state targets.ProductState) (polls int, dropped bool) {
		t.Helper()
		for _, k := range []uint32{targets.OptKey1, targets.OptKey2} {
			if err := w(fl+targets.FlashOPTKEYR, k); err != nil {
				t.Fatal(err)
			}
		}
		cur, err := l.Read32(ctx, 1, fl+targets.FlashOPTSRCur)
		if err != nil {
			t.Fatal(err)
		}
		if err := w(fl+targets.FlashOPTSRPrg, cur&^0xFF00|uint32(state)<<8); err != nil {
			t.Fatal(err)
		}
		if err := w(fl+targets.FlashOPTCR, 2); err != nil {
			t.Fatal(err)
		}
		for polls = 0; polls < 10000; polls++ {
			sr, err := l.Read32(ctx, 1, fl+targets.FlashNSSR)
			if err != nil {
				return polls, true
			}
			if sr&1 == 0 {
				return polls, false
			}
		}
		t.Fatal("BSY never cleared")
		return
	}
	up()
	polls, dropped := program(targets.StateProvisioning)
	if !dropped || polls == 0 {
		t.Fatalf("OPEN → PROVISIONING: %d polls, link dropped %v; want BSY polled, then the link lost", polls, dropped)
	}
	if m.ProductState() != targets.StateProvisioning || m.LinkEpoch() != 1 {
		t.Fatalf("model: %v epoch %d", m.ProductState(), m.LinkEpoch())
	}
	if err := l.ClearErrors(ctx); err != nil {
		t.Logf("clearing sticky errors: %v", err)
	}
	up()
	c, err := targets.Identify(ctx, l, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, tz, err := targets.ReadProductState(ctx, l, c); err != nil || st != targets.StateProvisioning || tz != targets.TZENDisabled {
		t.Fatalf("after reconnect: %v %v %v", st, tz, err)
	}
	// The seed's attempt 1: write 0xED back.
	if _, dropped := program(targets.StateOpen); dropped {
		t.Fatal("a refused change dropped the link")
	}
	sr, err := l.Read32(ctx, 1, fl+targets.FlashNSSR)
	if err != nil || sr&targets.NSSROptChangeErr == 0 {
		t.Fatalf("NSSR 0x%08X err %v: OPTCHANGEERR not set", sr, err)
	}
	if cur, err := l.Read32(ctx, 1, fl+targets.FlashOPTSRCur); err != nil || targets.ProductStateOf(cur) != targets.StateProvisioning {
		t.Fatalf("OPTSR_CUR 0x%08X after the refused change", cur)
	}
}
