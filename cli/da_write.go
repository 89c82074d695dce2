package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
)

// daSession are the flags that tune a DA session (da discover has the
// same).
type daSession struct {
	request, reply string
	khz            int
	reqCount       string
	respCount      string
}

func (s *daSession) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.request, "request", "", "session request WORD written under NRST (default 0x53544441 \"STDA\"; the STM32H5 value is not public)")
	fs.StringVar(&s.reply, "reply", "", "accepted reply WORDS, comma-separated (default an echo of the request, or 0x44414F4B \"DAOK\")")
	fs.IntVar(&s.khz, "khz", 0, "SWD clock in KHZ (default: the probe's current clock)")
	fs.StringVar(&s.reqCount, "request-count", "words", "the UNIT of a request's data_count: words (PSA-ADAC) or bytes (ST's STM32MP21 port); not public for STM32H5")
	fs.StringVar(&s.respCount, "response-count", "words", "the UNIT of a response's data_count: words (PSA-ADAC, ST's ports) or bytes")
}

// countInBytes parses a data_count unit flag.
func countInBytes(flag, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "words", "word":
		return false, nil
	case "bytes", "byte":
		return true, nil
	}
	return false, fmt.Errorf("%s %q: want words or bytes", flag, v)
}

// options parses the flags into da.Options.
func (s *daSession) options() (da.Options, error) {
	var o da.Options
	var err error
	if s.request != "" {
		if o.RequestWord, err = parseWord(s.request); err != nil {
			return o, err
		}
	}
	if s.reply != "" {
		for _, w := range strings.Split(s.reply, ",") {
			v, err := parseWord(w)
			if err != nil {
				return o, err
			}
			o.ReplyWords = append(o.ReplyWords, v)
		}
	}
	if s.khz < 0 {
		return o, fmt.Errorf("SWD clock %d kHz: want a positive number", s.khz)
	}
	o.FrequencyKHz = s.khz
	if o.RequestCountInBytes, err = countInBytes("--request-count", s.reqCount); err != nil {
		return o, err
	}
	if o.ResponseCountInBytes, err = countInBytes("--response-count", s.respCount); err != nil {
		return o, err
	}
	return o, nil
}

// daCreds are the credential flags: a password file, or a leaf key and a
// certificate chain.
type daCreds struct {
	password, key, cert string
}

func (c *daCreds) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.password, "password", "", "the password FILE (ST's password.bin, as da make-password writes it)")
	fs.StringVar(&c.key, "key", "", "the leaf private KEY file (PEM, key_3_leaf.pem) for the certificate method")
	fs.StringVar(&c.cert, "cert", "", "the certificate CHAIN file (cert_leaf_chain.b64) for the certificate method")
}

func (c *daCreds) given() bool { return c.password != "" || c.key != "" || c.cert != "" }

// load reads the credentials the flags name.
func (c *daCreds) load() (da.Credentials, error) {
	if !c.given() {
		return da.Credentials{}, errors.New("give the credentials: --password FILE, or --key FILE --cert FILE")
	}
	return da.LoadCredentials(c.password, c.key, c.cert)
}

// daWrite are the flags of a planned and confirmed DA write.
type daWrite struct {
	json     bool
	confirm  string
	stateDir string
	part     string
	session  daSession
}

func (w *daWrite) register(fs *pflag.FlagSet) {
	fs.BoolVar(&w.json, "json", false, "print JSON: {\"plan\": {... \"risk\", \"phrase\", \"needs_override\"}, \"result\": ...}")
	fs.StringVar(&w.confirm, "confirm", "", "run the write: the confirmation PHRASE the plan printed (without it nothing is written)")
	fs.StringVar(&w.stateDir, "state-dir", "", "directory for the option-byte backup and the audit log")
	fs.StringVar(&w.part, "part", "", "the PART (H503, H523, H533, H562, H563, H573) where the chip's line has several")
	w.session.register(fs)
}

// daRegressCommand is `stprobe da regress` and `stprobe da open-debug`.
func (a *app) daAuthCommand(action bench.DAAction) *cobra.Command {
	var (
		w         daWrite
		creds     daCreds
		perm      string
		saveFlash string
	)
	syn := "da regress (--password FILE | --key KEY --cert CHAIN) [--permission full|to-tz] [--save-flash FILE] [--confirm PHRASE] [--json] [--state-dir DIR]"
	short := "regress a closed chip with debug authentication: erase it and open it again"
	long := "Regresses a closed STM32H5 through debug authentication (the ROM's mailbox on AP0, NRST wired): a full regression erases the user flash, SRAM, the option bytes and the OBK area and brings the chip back OPEN with TrustZone off; to-tz (certificate method) erases the non-secure side and leaves the chip TZ_CLOSED. Without --confirm it prints the plan (what it erases, the risk, the phrase) and writes nothing; with the phrase it backs up the option bytes, saves the user flash first when --save-flash is given and AP1 reads it, regresses, reconnects, verifies and records the outcome in the audit log."
	if action == bench.DAOpenDebug {
		syn = "da open-debug (--password FILE | --key KEY --cert CHAIN) [--confirm PHRASE] [--json] [--state-dir DIR]"
		short = "open debug on a closed chip until the next power cycle (certificate method)"
		long = "Opens debug on a closed STM32H5 through debug authentication, until the next power cycle; nothing is erased. The chip must offer it (certificate method, permission provisioned). Without --confirm it prints the plan and writes nothing."
	}
	c := newCommand(string(action), syn, short, long, a.noArgs)
	fs := c.Flags()
	w.register(fs)
	creds.register(fs)
	if action == bench.DARegress {
		fs.StringVar(&perm, "permission", "full", "the regression: full (back to OPEN) or to-tz (back to TZ_CLOSED, certificate method)")
		fs.StringVar(&saveFlash, "save-flash", "", "save the user flash to this new FILE before the regression erases it (where AP1 reads it)")
		complete(c, "permission", "full", "to-tz")
	}
	c.RunE = func(c *cobra.Command, _ []string) error {
		req := bench.DARequest{Action: action, Part: w.part}
		var err error
		if action == bench.DARegress {
			if req.Permission, err = da.ParsePermission(perm); err == nil && req.Permission == da.PermOpenDebug {
				err = errors.New("--permission open-debug: use stprobe da open-debug")
			}
			if err != nil {
				return usage(c, err)
			}
		}
		if req.Credentials, err = creds.load(); err != nil {
			return usage(c, err)
		}
		if req.DA, err = w.session.options(); err != nil {
			return usage(c, err)
		}
		return a.runDAWrite(c, &w, req, saveFlash)
	}
	return c
}

// daProvisionCommand is `stprobe da provision`.
func (a *app) daProvisionCommand() *cobra.Command {
	var (
		w   daWrite
		obk string
	)
	c := newCommand("provision", "da provision --obk FILE [--part PART] [--confirm PHRASE] [--json] [--state-dir DIR]",
		"hand the DA provisioning file to the ROM (chip in PROVISIONING)",
		"Provisions debug authentication: hands the .obk file (da make-password or make-certs; on the H503 the OTP image) to the ROM of a chip in PROVISIONING, through Hot Plug on AP1, and reads the record back. The file is checked against the part first (size, destination, encryption flag, hash); --part names the part where the line has several (H523/H533, H562/H563/H573), since they take different files. Without --confirm it prints the plan and writes nothing.",
		a.noArgs)
	w.register(c.Flags())
	c.Flags().StringVar(&obk, "obk", "", "the .obk FILE to provision (H503: board_password.bin)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if obk == "" {
			return usage(c, errors.New("--obk FILE is required"))
		}
		data, err := da.LoadOBK(obk)
		if err != nil {
			return usage(c, fmt.Errorf("--obk: %w", err))
		}
		req := bench.DARequest{Action: bench.DAProvision, OBK: data, Part: w.part}
		if req.DA, err = w.session.options(); err != nil {
			return usage(c, err)
		}
		return a.runDAWrite(c, &w, req, "")
	}
	return c
}

// daWriteJSON is the JSON form of a DA write: the plan (risk, phrase,
// needs_override as ob plan has them), the result once run.
type daWriteJSON struct {
	Plan   *bench.DAPlan   `json:"plan"`
	Result *bench.DAResult `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// runDAWrite plans the write, and with --confirm runs it.
func (a *app) runDAWrite(c *cobra.Command, w *daWrite, req bench.DARequest, saveFlash string) error {
	ctx := c.Context()
	d, err := stateDirOr(w.stateDir)
	if err != nil {
		return err
	}
	w.stateDir = d
	return a.withBench(ctx, func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
		if w.confirm == "" {
			p, err := b.PlanDA(ctx, tok, req)
			err = a.withNextStep(err)
			if w.json {
				return a.writeDAJSON(daWriteJSON{Plan: p}, err)
			}
			if err != nil {
				return daMistake(err)
			}
			a.printDAPlan(p, w, c, saveFlash)
			return nil
		}
		var res *bench.DAResult
		var err error
		last := ""
		follow(b, func(ev bench.Event) {
			if s, ok := ev.(bench.DAStep); ok && !w.json {
				// One line for a run of progress steps (flash check, flash save).
				if s.Step.Step != last || s.Step.Step != "flash" && s.Step.Step != "save-flash" || s.Step.Total > 0 && s.Step.Done == s.Step.Total {
					printDAStep(a.stderr, s)
				}
				last = s.Step.Step
			}
		}, func() {
			res, err = b.ApplyDA(ctx, tok, bench.DAApplyRequest{DARequest: req, Confirm: w.confirm, StateDir: w.stateDir, SaveFlash: saveFlash})
		})
		err = a.withNextStep(err)
		if w.json {
			out := daWriteJSON{Result: res}
			if res != nil {
				out.Plan = res.Plan
			}
			return a.writeDAJSON(out, err)
		}
		if res != nil {
			a.printDAResult(res, w.stateDir)
		}
		return daMistake(err)
	})
}

// withNextStep adds to a refusal the command line that takes its next
// step (the console names its key for the same step).
func (a *app) withNextStep(err error) error {
	var ce *da.CheckError
	if !errors.As(err, &ce) {
		return err
	}
	var cmd []string
	switch ce.Check.Step {
	case da.StepDiscover:
		cmd = []string{"da", "discover"}
	case da.StepProvision:
		cmd = []string{"da", "provision", "--obk", "FILE"}
	case da.StepEnterProvisioning:
		cmd = []string{"ob", "plan", "PRODUCT_STATE=0x17"}
	default:
		return err
	}
	args := append(append([]string{"stprobe"}, selectorArgs(a.sel)...), cmd...)
	return fmt.Errorf("%w; next: %s", err, strings.Join(args, " "))
}

// daMistake marks the errors that are mistakes on the command line (exit
// status 2): a part not named where it must be.
func daMistake(err error) error {
	if errors.Is(err, bench.ErrPartAmbiguous) {
		return &inputError{err}
	}
	return err
}

// writeDAJSON prints a DA job's JSON answer with err's text, and returns
// the command's error for err.
func (a *app) writeDAJSON(out daWriteJSON, err error) error {
	if err != nil {
		out.Error = err.Error()
	}
	if jerr := writeJSON(a.stdout, out); jerr != nil {
		return jerr
	}
	return daMistake(err)
}

// printDAStep shows one step of a DA job on stderr.
func printDAStep(w io.Writer, s bench.DAStep) {
	if s.Step.Total > 0 {
		fmt.Fprintf(w, "  [%3d%%] %s: %s\n", s.Step.Done*100/s.Step.Total, s.Step.Step, s.Step.Message)
		return
	}
	fmt.Fprintf(w, "  %s: %s\n", s.Step.Step, s.Step.Message)
}

// printDAPlan shows a DA plan and the command that runs it.
func (a *app) printDAPlan(p *bench.DAPlan, w *daWrite, c *cobra.Command, saveFlash string) {
	o := a.stdout
	fmt.Fprintf(o, "DA %s", p.Action)
	if p.Action == bench.DARegress {
		fmt.Fprintf(o, " (%s)", p.Permission)
	}
	fmt.Fprintf(o, " on %s, UID %s\n", p.Line, dash(p.UID))
	if p.Part != "" {
		fmt.Fprintf(o, "part:     %s\n", p.Part)
	}
	fmt.Fprintf(o, "state:    %v", p.State)
	if p.TZEN != 0 {
		fmt.Fprintf(o, ", TZEN %v", p.TZEN)
	}
	fmt.Fprintln(o)
	if p.Discovery != nil {
		fmt.Fprintf(o, "ROM says: %s\n", p.Discovery)
	}
	if p.Method != "" {
		fmt.Fprintf(o, "method:   %s\n", p.Method)
	}
	fmt.Fprintf(o, "erases:   %s\n", p.Erases)
	for i, s := range p.Steps {
		fmt.Fprintf(o, "step %d:   %s\n", i+1, s)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(o, "note:     %s\n", n)
	}
	fmt.Fprintf(o, "\nrisk: %s\n  %s\n", strings.ToUpper(p.Risk.String()), p.Why)
	fmt.Fprintf(o, "confirmation phrase: %s\n", p.Phrase)
	args := append([]string{"stprobe"}, selectorArgs(a.sel)...)
	args = append(args, strings.Fields(c.CommandPath())[1:]...)
	inherited := c.InheritedFlags()
	c.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "json" && f.Name != "confirm" && inherited.Lookup(f.Name) == nil {
			args = append(args, "--"+f.Name, shellQuote(f.Value.String()))
		}
	})
	args = append(args, "--confirm", shellQuote(p.Phrase))
	fmt.Fprintf(o, "to run: %s\n", strings.Join(args, " "))
	if p.Action == bench.DARegress && p.FlashReadable && saveFlash == "" {
		fmt.Fprintln(o, "AP1 reads the flash now: add --save-flash FILE to keep a copy of what the regression erases.")
	}
}

// printDAResult shows what a DA write did.
func (a *app) printDAResult(r *bench.DAResult, stateDir string) {
	o := a.stdout
	if r.Outcome == "" {
		return // refused before anything was done
	}
	fmt.Fprintf(o, "\nDA %s: %s\n", r.Plan.Action, strings.ToUpper(r.Outcome))
	if r.Backup != "" {
		fmt.Fprintf(o, "backup of the option bytes: %s\n", r.Backup)
	}
	if r.FlashFile != "" {
		fmt.Fprintf(o, "user flash saved: %s (%d bytes)\n", r.FlashFile, r.FlashBytes)
	}
	if p := r.Provisioned; p != nil {
		fmt.Fprintf(o, "provisioned in %v; record read back: %v\n", p.State, p.ReadBack)
	}
	if r.Auth != nil && r.Auth.After != nil {
		af := r.Auth.After
		fmt.Fprintf(o, "chip now: %v", af.State)
		if af.TZEN != 0 {
			fmt.Fprintf(o, ", TZEN %v", af.TZEN)
		}
		if af.FlashChecked > 0 {
			fmt.Fprintf(o, ", user flash erased: %v (%d bytes checked)", af.FlashErased, af.FlashChecked)
		}
		if af.OBKChecked {
			fmt.Fprintf(o, ", OBK DA record erased: %v", af.OBKErased)
		}
		fmt.Fprintf(o, ", AP1 open: %v\n", af.AP1Open)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(o, "note: %s\n", n)
	}
	fmt.Fprintf(o, "audit log: %s\n", filepath.Join(stateDir, bench.AuditFile))
}

// daCheckOBKCommand is `stprobe da check-obk FILE`.
func (a *app) daCheckOBKCommand() *cobra.Command {
	var (
		part    string
		need    string
		session daSession
	)
	c := newCommand("check-obk FILE", "da check-obk FILE [--part PART] [--permission full|to-tz|open-debug] [--json]",
		"check a DA .obk file against the connected chip",
		"Decodes the .obk file (on the H503 the OTP image) and checks it against the chip's part (size, destination, encryption flag, payload hash, permission word) and against the chip itself (its DA discovery; the record read back where AP1 reads it). Read-only; the discovery pulses NRST. Exit status 1 when anything does not match.",
		cobra.ArbitraryArgs)
	asJSON := jsonFlag(c, "print JSON")
	c.Flags().StringVar(&part, "part", "", "the PART where the chip's line has several (H523/H533, H562/H563/H573)")
	c.Flags().StringVar(&need, "permission", "full", "the permission the file must grant: full, to-tz or open-debug")
	session.register(c.Flags())
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usage(c, errors.New("give one .obk FILE"))
		}
		data, err := da.LoadOBK(args[0])
		if err != nil {
			return usage(c, err)
		}
		perm, err := da.ParsePermission(need)
		if err != nil {
			return usage(c, err)
		}
		o, err := session.options()
		if err != nil {
			return usage(c, err)
		}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			res, err := b.CheckOBK(ctx, tok, bench.OBKCheckRequest{File: data, Part: part, Need: []da.Permission{perm}, DA: o})
			if err != nil {
				return daMistake(err)
			}
			if *asJSON {
				if err := writeJSON(a.stdout, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.stdout, "part:      %s\n", res.Part)
				if res.Discovery != nil {
					fmt.Fprintf(a.stdout, "ROM says:  %s\n", res.Discovery)
				} else {
					fmt.Fprintf(a.stdout, "ROM says:  nothing (%s)\n", res.DiscoveryErr)
				}
				fmt.Fprintf(a.stdout, "record read back: %v\n", res.RecordRead)
				printMismatches(a.stdout, res.Mismatches)
			}
			if len(res.Mismatches) > 0 {
				return fmt.Errorf("%s does not fit the chip: %d mismatch(es)", args[0], len(res.Mismatches))
			}
			return nil
		})
	}
	return c
}

// printMismatches lists mismatches with their fixes, or says all is well.
func printMismatches(w io.Writer, ms []da.Mismatch) {
	if len(ms) == 0 {
		fmt.Fprintln(w, "OK: the file fits the part and the chip")
		return
	}
	for _, m := range ms {
		fmt.Fprintf(w, "MISMATCH %s: %s\n  fix: %s\n", m.Check, m.Problem, m.Fix)
	}
}
