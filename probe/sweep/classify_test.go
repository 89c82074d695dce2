package sweep

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
)

func TestClassify(t *testing.T) {
	dp := func(r probe.ConnectReport) *probe.ConnectReport {
		r.DPIDR, r.DPOK = h5DPIDR, true
		return &r
	}
	tests := []struct {
		name string
		rep  *probe.ConnectReport
		err  error
		want Outcome
	}{
		{"halted core", dp(probe.ConnectReport{APIDR: ap1IDR, APOK: true, CoreFound: true, Core: probe.CoreHalted}), nil, OutcomeOK},
		{"hot plug on a port without core", dp(probe.ConnectReport{APIDR: ap0IDR, APOK: true}), nil, OutcomeOK},
		{"normal on a port without core", dp(probe.ConnectReport{APIDR: ap0IDR, APOK: true, FailedStep: probe.StepNoCore,
			Err: &probe.OpError{Where: probe.LayerAP, What: "no Cortex-M core on AP0"}}), nil, OutcomeOK},
		{"NRST not wired", dp(probe.ConnectReport{APIDR: ap1IDR, APOK: true, CoreFound: true, FailedStep: probe.StepConfirmHalt,
			Err: &probe.OpError{Where: probe.LayerTarget, What: "never went through reset"}}), nil, OutcomeModeFailed},
		{"locked AP", dp(probe.ConnectReport{APIDR: ap1IDR, FailedStep: probe.StepReadCPUID,
			Err: &probe.OpError{Where: probe.LayerAP, What: "AP1 refuses memory access", Err: probe.ErrSWDAPFault}}), nil, OutcomeAPClosed},
		{"AP fault while halting", dp(probe.ConnectReport{APIDR: ap1IDR, FailedStep: probe.StepHalt,
			Err: &probe.StatusError{Op: "write memory", Status: proto.StatusSWDAPFault}}), nil, OutcomeAPClosed},
		{"no AP", dp(probe.ConnectReport{FailedStep: probe.StepReadAPIDR,
			Err: &probe.OpError{Where: probe.LayerAP, What: "no access port 5 (IDR reads 0)"}}), nil, OutcomeDPOnly},
		{"no AP, hot plug without error", dp(probe.ConnectReport{}), nil, OutcomeDPOnly},
		{"AP WAIT", dp(probe.ConnectReport{APIDR: ap1IDR, FailedStep: probe.StepReadCSW, Err: probe.ErrSWDAPWait}), nil, OutcomeWaitTimeout},
		{"bad AP from firmware", dp(probe.ConnectReport{FailedStep: probe.StepOpenAP, Err: probe.ErrBadAP}), nil, OutcomeUnsupported},
		{"firmware too old", dp(probe.ConnectReport{FailedStep: probe.StepOpenAP,
			Err: &probe.FirmwareError{Feature: "AP1", Need: v2(28), Have: v2(27)}}), nil, OutcomeUnsupported},
		{"no DPIDR", &probe.ConnectReport{FailedStep: probe.StepReadDPIDR, Err: probe.ErrSWDDPError}, nil, OutcomeNoAck},
		{"no device", &probe.ConnectReport{FailedStep: probe.StepEnterSWD, Err: probe.ErrNoDevice}, nil, OutcomeNoAck},
		{"DPIDR all ones", &probe.ConnectReport{DPIDR: 0xFFFFFFFF, FailedStep: probe.StepReadDPIDR,
			Err: &probe.OpError{Where: probe.LayerDP, What: "DPIDR reads 0xFFFFFFFF"}}, nil, OutcomeNoAck},
		{"DP WAIT", &probe.ConnectReport{FailedStep: probe.StepReadDPIDR, Err: probe.ErrSWDDPWait}, nil, OutcomeWaitTimeout},
		{"power-up refused", &probe.ConnectReport{DPIDR: h5DPIDR, FailedStep: probe.StepPowerUp, Err: probe.ErrDbgPower}, nil, OutcomeFault},
		{"probe fault before DP", &probe.ConnectReport{FailedStep: probe.StepEnterSWD, Err: probe.ErrProbeInternal}, nil, OutcomeFault},
		{"cell timeout", &probe.ConnectReport{}, fmt.Errorf("read DPIDR: %w", context.DeadlineExceeded), OutcomeWaitTimeout},
		{"probe timeout", nil, fmt.Errorf("enter SWD: %w", probe.ErrTimeout), OutcomeWaitTimeout},
		{"unplugged", nil, fmt.Errorf("enter SWD: %w", probe.ErrDisconnected), OutcomeFault},
		{"no report", nil, nil, OutcomeFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := Classify(tt.rep, tt.err)
			if got != tt.want {
				t.Errorf("Classify = %v (%s), want %v", got, why, tt.want)
			}
			if why == "" {
				t.Error("no reason")
			}
		})
	}
}

func TestSpreadRungs(t *testing.T) {
	tests := []struct {
		ladder, want []int
	}{
		{proto.V2KHzList(), []int{4000, 1800, 480, 100, 5}},
		{proto.V3SWDTable, []int{24000, 3300, 1000, 200, 5}},
		{[]int{1000, 100}, []int{1000, 100}},
		{[]int{5, 4000, 4000, 0, 100}, []int{4000, 100, 5}},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := SpreadRungs(tt.ladder); !slices.Equal(got, tt.want) {
			t.Errorf("SpreadRungs(%v) = %v, want %v", tt.ladder, got, tt.want)
		}
	}
}

func TestParseLists(t *testing.T) {
	modes, err := ParseModes("normal, hotplug,under-reset")
	if err != nil || !slices.Equal(modes, DefaultModes()) {
		t.Errorf("ParseModes = %v, %v", modes, err)
	}
	aps, err := ParseAPs("0,1,0x2")
	if err != nil || !slices.Equal(aps, []uint8{0, 1, 2}) {
		t.Errorf("ParseAPs = %v, %v", aps, err)
	}
	freqs, err := ParseFrequencies("4000,100kHz")
	if err != nil || !slices.Equal(freqs, []int{4000, 100}) {
		t.Errorf("ParseFrequencies = %v, %v", freqs, err)
	}
	for _, bad := range []func() error{
		func() error { _, err := ParseModes("sideways"); return err },
		func() error { _, err := ParseModes(" , "); return err },
		func() error { _, err := ParseAPs("256"); return err },
		func() error { _, err := ParseAPs("x"); return err },
		func() error { _, err := ParseFrequencies("0"); return err },
		func() error { _, err := ParseFrequencies("fast"); return err },
	} {
		if bad() == nil {
			t.Error("bad list accepted")
		}
	}
}

func TestPlanKeysOrder(t *testing.T) {
	p := Plan{Modes: []probe.ConnectMode{probe.ModeNormal, probe.ModeHotPlug}, APs: []uint8{0, 1}, FrequenciesKHz: []int{4000, 100}}
	var got []string
	for _, k := range p.Keys() {
		got = append(got, k.String())
	}
	want := []string{"normal/AP0/4000kHz", "normal/AP1/4000kHz", "hotplug/AP0/4000kHz", "hotplug/AP1/4000kHz",
		"normal/AP0/100kHz", "normal/AP1/100kHz", "hotplug/AP0/100kHz", "hotplug/AP1/100kHz"}
	if !slices.Equal(got, want) {
		t.Errorf("keys %v", got)
	}
}
