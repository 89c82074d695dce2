package chipsim

import "testing"

func TestNRSTEdges(t *testing.T) {
	type step struct {
		low        bool
		fell, rose bool
		held       bool
	}
	cases := []struct {
		name  string
		wired bool
		steps []step
	}{
		{"wired", true, []step{
			{low: true, fell: true, held: true},
			{low: true, held: true}, // no edge while held
			{low: false, rose: true},
			{low: false},
		}},
		{"not wired", false, []step{
			{low: true},
			{low: false},
		}},
	}
	for _, c := range cases {
		p := NRST{Wired: c.wired}
		for i, s := range c.steps {
			fell, rose := p.Drive(s.low)
			if fell != s.fell || rose != s.rose || p.Low() != s.held {
				t.Errorf("%s, step %d (low=%v): fell %v rose %v held %v, want %v %v %v",
					c.name, i, s.low, fell, rose, p.Low(), s.fell, s.rose, s.held)
			}
		}
	}
}
