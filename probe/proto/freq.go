package proto

// SWDDivider is one entry of the V2 SWD clock table.
type SWDDivider struct {
	KHz     int
	Divisor uint16
}

// V2SWDTable is the V2 SWD_SET_FREQ table, fastest first; 1800 kHz is the power-on default.
var V2SWDTable = []SWDDivider{
	{4000, 0}, {1800, 1}, {1200, 2}, {950, 3}, {480, 7}, {240, 15},
	{125, 31}, {100, 40}, {50, 79}, {25, 158}, {15, 265}, {5, 798},
}

// V2DefaultKHz is the V2 SWD clock after power-on.
const V2DefaultKHz = 1800

// V3SWDTable is the SWD clock list a STLINK-V3 reports with GET_COM_FREQ, fastest first.
var V3SWDTable = []int{24000, 8000, 3300, 1000, 200, 50, 5}

// NearestKHz picks from a fastest-first list the fastest value not above
// want, or the slowest value when want is below the whole list.
func NearestKHz(list []int, want int) int {
	if len(list) == 0 {
		return 0
	}
	for _, f := range list {
		if f <= want {
			return f
		}
	}
	return list[len(list)-1]
}

// V2KHzList returns the V2 table's frequencies, fastest first.
func V2KHzList() []int {
	out := make([]int, len(V2SWDTable))
	for i, d := range V2SWDTable {
		out[i] = d.KHz
	}
	return out
}

// V2DivisorKHz returns the frequency a V2 divisor selects (nearest table entry for unknown divisors).
func V2DivisorKHz(div uint16) int {
	best := V2SWDTable[len(V2SWDTable)-1]
	for _, d := range V2SWDTable {
		if d.Divisor >= div {
			return d.KHz
		}
		best = d
	}
	return best.KHz
}
