// Package guarded is the one shape of every write stprobe makes to a chip
// that cannot simply be taken back: option bytes, debug-authentication
// provisioning (and the H503's OTP), a regression, a debug opening, flash.
//
// A guarded write is
//
//   - a Plan: what changes, the Risk class with its reasons, the phrase
//     that confirms it, whether it needs the explicit override, what it
//     erases, the proof of the way back, the steps;
//   - the guard: Check compares what the user typed (and the override)
//     with the plan, and nothing else decides whether the write may run;
//   - the execution: steps reported as Events, an undo on failure, an
//     Outcome that says in a few words how it ended;
//   - the record: an audit line (Record) naming who wrote, the risk and
//     that the phrase was confirmed, beside the backup taken before and
//     the journal of a write that did not end cleanly.
//
// The package holds the vocabulary and the rules common to every kind of
// write; the kinds themselves (obytes for option bytes, probe/da for debug
// authentication) build their plans and executors from it, and the bench
// schedules them.
package guarded
