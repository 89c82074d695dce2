package matrix

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/tui/common"
)

// Action is a finding's next step that the console can take.
type Action struct {
	// Label is the button's text.
	Label string
	// Unavailable says why it cannot be taken now ("" when it can).
	Unavailable func() string
	// Run takes it.
	Run func() tea.Cmd
}

// benchSweepKind is the bench's kind of a sweep job, as JobFinished
// carries it.
const benchSweepKind = "sweep"

// sweepDone is the end of the sweep the pane started.
type sweepDone common.Result[*bench.SweepResult]

// actions are the buttons of f's next steps (the diagnosis's typed
// steps), in the order the advice gives them.
func (m *Model) actions(f sweep.Finding) []Action {
	c := m.c
	always := func() string { return "" }
	var out []Action
	for _, st := range f.Steps {
		switch st.Action {
		case sweep.ActionPlanOptionBytes:
			out = append(out, Action{
				Label:       "Plan " + st.Assignment,
				Unavailable: always,
				Run: func() tea.Cmd {
					return openPane(common.PaneOptionBytes, common.PlanRequest{Assignments: []string{st.Assignment}, Reason: f.Title})
				},
			})
		case sweep.ActionDiscoverDA:
			out = append(out, Action{
				Label:       "Read the state through AP0",
				Unavailable: c.UnavailableNow,
				Run: func() tea.Cmd {
					return openPane(common.PaneDA, common.DARequest{Action: "discover", Reason: f.Title})
				},
			})
		case sweep.ActionDebugAuth:
			out = append(out, Action{
				Label:       "Open the DA pane",
				Unavailable: always,
				Run: func() tea.Cmd {
					return openPane(common.PaneDA, common.DARequest{Reason: f.Title})
				},
			})
		case sweep.ActionReadOptionBytes:
			out = append(out, Action{
				Label:       "Read the option bytes",
				Unavailable: always,
				Run:         func() tea.Cmd { return openPane(common.PaneOptionBytes, nil) },
			})
		case sweep.ActionSweep:
			out = append(out, Action{Label: "Sweep again", Unavailable: c.UnavailableNow, Run: m.startSweep})
		}
	}
	return out
}

func openPane(p common.PaneID, req any) tea.Cmd {
	return func() tea.Msg { return common.OpenPaneMsg{Pane: p, Request: req} }
}

// discover opens the DA pane on a discovery (through AP0, under reset): it
// reports the product state when the core port is closed.
func (m *Model) discover() tea.Cmd {
	if why := m.c.UnavailableNow(); why != "" {
		return common.StatusErr(why)
	}
	return openPane(common.PaneDA, common.DARequest{Action: "discover", Reason: "asked from the matrix"})
}

// startSweep runs the default sweep: every mode × AP0, AP1 × about five
// SWD clocks. The plan is made off the UI goroutine (the probe's clock
// ladder sits behind the driver's lock, held during transfers); the grid
// takes the plan's shape when it arrives, then the sweep starts.
func (m *Model) startSweep() tea.Cmd {
	if why := m.c.UnavailableNow(); why != "" {
		return common.StatusErr(why)
	}
	b := m.c.Bench
	return func() tea.Msg { return planMsg{sweep.DefaultPlan(b.SWDFrequencies())} }
}

// planMsg carries the plan of a sweep about to start.
type planMsg struct{ plan sweep.Plan }

// runSweep starts the sweep of plan.
func (m *Model) runSweep(plan sweep.Plan) tea.Cmd {
	c := m.c
	if why := c.UnavailableNow(); why != "" {
		return common.StatusErr(why)
	}
	m.begin(plan)
	b := c.Bench
	return common.Job[sweepDone](c, m.ID, func(ctx context.Context, t bench.Token) (*bench.SweepResult, error) {
		return b.Sweep(ctx, t, bench.SweepRequest{Plan: plan})
	})
}
