package usbrelay

import (
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
)

// A client session runs from claiming the interface to releasing it; it
// counts the probe's modelled cost of the commands in it and the requests
// made, and the device owes the commands' modelled time for pacing.
func TestDeviceSession(t *testing.T) {
	v, err := proto.ParseVersion("V2J46S7")
	if err != nil {
		t.Fatal(err)
	}
	v.VID, v.PID = proto.VendorST, 0x3748
	p := sim.New(sim.Config{Firmware: v, Serial: "0670FF485550755187121723", TargetMillivolts: 3290})
	var got []sim.SessionCost
	d := newDevice(testIdentity(t, 0x3748), p, sim.OutDataLen)
	d.acct = sim.NewAccountant("usb-relay", sim.CostOptions{OnSession: func(c sim.SessionCost) { got = append(got, c) }})
	ep := d.id.model

	// claiming the interface opens the session
	d.serve(request{Kind: kindIoctl, Ioctl: ioctlClaimInterface})
	d.serve(bulkOut(1, ep.EPOut, command(proto.CmdGetVersion)))
	d.serve(bulkIn(2, ep.EPIn, 6))
	d.serve(bulkOut(3, ep.EPOut, command(proto.CmdGetCurrentMode)))
	d.serve(bulkIn(4, ep.EPIn, 2))
	d.serve(request{Kind: kindPoll}) // not a request of the client
	owed := d.takeOwed()
	d.serve(request{Kind: kindIoctl, Ioctl: ioctlReleaseInterface})
	if len(got) != 1 {
		t.Fatalf("%d sessions reported, want 1", len(got))
	}
	s, want := got[0], p.Stats()
	if s.Commands != 2 || s.USBTransfers != 4 || s.Modelled != want.Wire || s.Requests != 6 {
		t.Errorf("session %+v, probe %+v", s, want)
	}
	if s.CommandsByKind["GET_VERSION"] != 1 || s.CommandsByKind["GET_CURRENT_MODE"] != 1 {
		t.Errorf("kinds %v", s.CommandsByKind)
	}
	if owed != want.Wire || d.takeOwed() != 0 {
		t.Errorf("owed %v, want %v once", owed, want.Wire)
	}
	// full speed: 1 ms round trip plus 1 µs a byte
	if want.Wire != 2*time.Millisecond+(22+18)*time.Microsecond {
		t.Errorf("modelled %v", want.Wire)
	}
	// a release without a session reports nothing; a command without a
	// claim opens one that the relay's close ends
	d.serve(request{Kind: kindIoctl, Ioctl: ioctlReleaseInterface})
	d.serve(bulkOut(5, ep.EPOut, command(proto.CmdGetCurrentMode)))
	d.end()
	d.end()
	if len(got) != 2 || got[1].Session != 2 || got[1].Commands != 1 {
		t.Errorf("sessions %+v", got)
	}
}
