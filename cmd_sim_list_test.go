package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/sim/scenario"
)

func TestCmdSimList(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := cmdSimList(context.Background(), &globalFlags{}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(scenario.List()) {
		t.Fatalf("%d lines for %d scenarios:\n%s", len(lines), len(scenario.List()), out.String())
	}
	if !strings.HasPrefix(lines[0], scenario.DefaultName) || !strings.HasSuffix(lines[0], "(default)") {
		t.Errorf("first line %q", lines[0])
	}

	out.Reset()
	if err := cmdSimList(context.Background(), &globalFlags{}, []string{"--json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var list []simListEntry
	if err := json.Unmarshal(out.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != len(scenario.List()) || !list[0].Default || list[0].Expect["hotplug_ap1"] != "ok" || list[0].TargetVolts != 3.29 {
		t.Errorf("JSON: %+v", list[0])
	}

	if err := cmdSimList(context.Background(), &globalFlags{}, []string{"extra"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("extra argument: %v, want errUsage", err)
	}
}
