package sweep

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
)

// Classify turns the result of one probe.Connect into an outcome class and
// a one-line reason. rep may be nil when err is set (a transport failure).
// A port that gives memory access but has no core behind it (STM32H5 AP0)
// is ok in every mode: there is nothing to halt, and the port works.
func Classify(rep *probe.ConnectReport, err error) (Outcome, string) {
	if err != nil {
		return classifyError(err, rep != nil && rep.DPOK), describeFailure(stepOf(rep), err)
	}
	if rep == nil {
		return OutcomeFault, "the connect attempt returned no report"
	}
	if !rep.DPOK {
		if rep.Err == nil {
			return OutcomeNoAck, "the debug port gave no DPIDR"
		}
		why := describeFailure(rep.FailedStep, rep.Err)
		// A DP that read its IDCODE but refused to power up debug did
		// answer: that is a fault (or a WAIT), not a missing ACK.
		return classifyError(rep.Err, rep.FailedStep == probe.StepPowerUp), why
	}
	if rep.Err == nil {
		if rep.APOK {
			return OutcomeOK, okReason(rep)
		}
		if rep.APIDR == 0 {
			return OutcomeDPOnly, fmt.Sprintf("nothing answers at AP%d (IDR reads 0)", rep.AP)
		}
		return OutcomeAPClosed, fmt.Sprintf("AP%d (IDR 0x%08X) refuses memory access", rep.AP, rep.APIDR)
	}
	why := describeFailure(rep.FailedStep, rep.Err)
	switch o := classifyError(rep.Err, true); o {
	case OutcomeWaitTimeout, OutcomeUnsupported:
		return o, why
	}
	switch {
	case rep.APOK && !rep.CoreFound && rep.FailedStep == probe.StepNoCore:
		// The AP gives memory access but no core sits behind it (STM32H5
		// AP0): there is nothing to halt or catch, and the port itself
		// works. That is as far as this AP can go.
		return OutcomeOK, fmt.Sprintf("AP%d answers; no core behind it", rep.AP)
	case rep.APOK:
		return OutcomeModeFailed, why
	case rep.APIDR == 0:
		return OutcomeDPOnly, why
	case rep.FailedStep == probe.StepReadCPUID || isAccessRefusal(rep.Err):
		return OutcomeAPClosed, why
	}
	return OutcomeFault, why
}

// okReason says what an ok cell reached.
func okReason(rep *probe.ConnectReport) string {
	if !rep.CoreFound {
		return fmt.Sprintf("AP%d answers (no core behind it)", rep.AP)
	}
	return fmt.Sprintf("core %v", rep.Core)
}

// classifyError classes an error; dpOK says whether the DP had answered.
func classifyError(err error, dpOK bool) Outcome {
	var se *probe.StatusError
	switch {
	case errors.Is(err, probe.ErrFirmwareTooOld), errors.Is(err, probe.ErrBadAP),
		errors.Is(err, probe.ErrUnknownCmd), errors.Is(err, probe.ErrFreqNotSupported):
		return OutcomeUnsupported
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, probe.ErrTimeout):
		return OutcomeWaitTimeout
	case errors.As(err, &se) && se.IsWait():
		return OutcomeWaitTimeout
	case errors.Is(err, probe.ErrDisconnected), errors.Is(err, context.Canceled):
		return OutcomeFault
	}
	if dpOK {
		return OutcomeFault
	}
	switch probe.LayerOf(err) {
	case probe.LayerUSB, probe.LayerProbe:
		return OutcomeFault
	}
	// DP and target layer failures before the DP answered: nothing on the
	// wire acknowledged.
	return OutcomeNoAck
}

// isAccessRefusal reports whether err is an access port refusing a
// transfer (fault or sticky error), which is how a locked AP answers.
func isAccessRefusal(err error) bool {
	var se *probe.StatusError
	if errors.As(err, &se) {
		switch se.Status {
		case proto.StatusSWDAPFault, proto.StatusSWDAPStickyError, proto.StatusSWDAPError,
			proto.StatusSWDDPFault, proto.StatusUnknownError, proto.StatusWriteError:
			return true
		}
		return false
	}
	return probe.LayerOf(err) == probe.LayerAP
}

func stepOf(rep *probe.ConnectReport) string {
	if rep == nil {
		return ""
	}
	return rep.FailedStep
}

func describeFailure(step string, err error) string {
	if err == nil {
		return step
	}
	msg := err.Error()
	if step == "" || strings.HasPrefix(msg, step+":") {
		return msg
	}
	return step + ": " + msg
}

// statusOf returns the probe status byte in err's chain, or 0.
func statusOf(err error) proto.Status {
	var se *probe.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}
