package serve

import (
	"math"
	"testing"
	"time"
)

func TestPositiveOr(t *testing.T) {
	if got := positiveOr(0, 5); got != 5 {
		t.Errorf("positiveOr(0, 5) = %d, want 5", got)
	}
	if got := positiveOr(-3, 5); got != 5 {
		t.Errorf("positiveOr(-3, 5) = %d, want 5", got)
	}
	if got := positiveOr(7, 5); got != 7 {
		t.Errorf("positiveOr(7, 5) = %d, want 7", got)
	}
	if got := positiveOr(0.5, 2.0); got != 0.5 {
		t.Errorf("positiveOr(0.5, 2) = %g, want 0.5", got)
	}
	if got := positiveOr(-time.Second, time.Minute); got != time.Minute {
		t.Errorf("positiveOr(-1s, 1m) = %v, want 1m", got)
	}
	// NaN is not <= 0: kept, as the settings' checks always did.
	if got := positiveOr(math.NaN(), 2.0); !math.IsNaN(got) {
		t.Errorf("positiveOr(NaN, 2) = %g, want NaN", got)
	}
}
