package job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/dfu"
	"github.com/stprobe/stprobe/boot/job"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/targets"
)

func TestRunSkipsPathsNotAsked(t *testing.T) {
	called := false
	rep := job.Run(context.Background(), job.Options{ProbeDFU: func(context.Context, dfu.Options) boot.Result {
		called = true
		return boot.Result{}
	}}, boot.SWD{})
	if called || len(rep.Results) != 0 || len(rep.Findings) != 0 {
		t.Fatalf("nothing asked, got %+v (DFU probed %v)", rep, called)
	}
}

func TestReportRenders(t *testing.T) {
	answered := boot.Result{Path: boot.PathUART, Outcome: boot.Answered, PID: 0x478, HasPID: true, Line: "STM32H523/H533",
		UART: &boot.UARTInfo{Version: 0x40}}
	answered.SetOptionBytes([]byte{0xF8, 0x17, 0x00, 0x00})
	rep := job.Run(context.Background(), job.Options{
		USB: true, UART: "/dev/ttyUSB0", BOOT0: boot.LevelHigh,
		ProbeDFU: func(context.Context, dfu.Options) boot.Result {
			return boot.Result{Path: boot.PathDFU, Outcome: boot.Silent, Detail: "no 0483:DF11 (STM32 ROM DFU) on the USB bus"}
		},
		ProbeUART: func(context.Context, string, uart.Options) boot.Result { return answered },
	}, boot.SWD{AP1: boot.AP1Open})
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"uart: answered, PID 0x478 (STM32H523/H533), bootloader V4.0, state PROVISIONING",
		"usb-dfu silent while uart answered", "consistent with: PROVISIONING", "check: USB: D+ on PA12"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome":"answered"`, `"outcome":"silent"`, `"product_state":{"code":"0x17","name":"PROVISIONING"}`, `"consistent_states":["PROVISIONING"]`} {
		if !bytes.Contains(js, []byte(want)) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
	if answered.ProductState != targets.StateProvisioning {
		t.Errorf("state %v", answered.ProductState)
	}
}
