// Package credform is the small form the console uses to name the files of
// debug authentication: the credentials (a password file, or the leaf key
// and the certificate chain), the .obk file, the part, the permission and
// where to save the flash. Every field is a typed path or a choice; the
// form is pre-filled with the files it finds under their usual names in a
// few directories, and it checks every field before it hands the values
// on. The DA pane and the option-byte pane (the proof of the way back)
// share it.
package credform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
	"github.com/stprobe/stprobe/tui/common"
)

// Field names a field of the form.
type Field int

// The fields a form may have.
const (
	Password Field = iota
	Key
	Chain
	OBK
	Part
	Permission
	SaveFlash
	// Method, Dir and Text are the fields of making credentials: the
	// method (password or certificates), the directory the files go to,
	// and the password's text (empty: a random one).
	Method
	Dir
	Text
)

// label is the field's label.
func (f Field) label() string {
	return [...]string{"password file", "leaf key file", "chain file", ".obk file", "part", "permission", "save flash to", "method", "write into", "password text"}[f]
}

// hint is the field's placeholder.
func (f Field) hint() string {
	return [...]string{dacred.PasswordFile + " (or leave empty and give key + chain)", dacred.LeafKeyFile,
		dacred.ChainFile, dacred.PasswordOBKFile + " or " + dacred.CertOBKFile, "H533, H523, ... (where the line has several)",
		"", "a new file (optional; empty: not saved)", "", "a directory (created if needed)", "empty: a random password (recommended)"}[f]
}

// Values are what a filled form holds, checked.
type Values struct {
	Credentials da.Credentials
	// Paths are the fields as typed (trimmed).
	Paths      map[Field]string
	OBK        []byte
	Part       string
	Permission da.Permission
	SaveFlash  string
	// Certificates is set when the method chosen is the certificate kit;
	// Dir and Text are the directory and the password's text.
	Certificates bool
	Dir, Text    string
}

// Form is the form. Create it with New.
type Form struct {
	Title  string
	fields []Field
	inputs map[Field]*textinput.Model
	// choices are the values of the choice fields, and the chosen one.
	choices map[Field][]string
	chosen  map[Field]int
	focus   int
	errs    map[Field]string
	err     string
	// matches are the paths a completion found several of, shown under
	// the field.
	matches []string
}

// Options tune New.
type Options struct {
	// Dirs are searched, in order, for files under their usual names
	// (each directory and its subdirectories one level down).
	Dirs []string
	// Permissions are the permission choices (default full, to-tz).
	Permissions []da.Permission
	// Part pre-fills the part; Dir the directory; Certificates chooses
	// the certificate method first.
	Part         string
	Dir          string
	Certificates bool
	// Styles style the inputs (nil: plain).
	Styles *common.Styles
}

// New makes a form of fields, pre-filled from o.
func New(title string, o Options, fields ...Field) *Form {
	f := &Form{Title: title, fields: fields, inputs: map[Field]*textinput.Model{}, choices: map[Field][]string{},
		chosen: map[Field]int{}, errs: map[Field]string{}}
	found := Find(o.Dirs)
	for _, fd := range fields {
		if fd == Method {
			f.choices[fd] = []string{"password", "certificates"}
			if o.Certificates {
				f.chosen[fd] = 1
			}
			continue
		}
		if fd == Permission {
			perms := o.Permissions
			if len(perms) == 0 {
				perms = []da.Permission{da.PermFull, da.PermToTZ}
			}
			for _, p := range perms {
				f.choices[fd] = append(f.choices[fd], p.String())
			}
			continue
		}
		in := textinput.New()
		in.Prompt = ""
		in.Placeholder = fd.hint()
		in.CharLimit = 4096
		st := textinput.Styles{Cursor: textinput.CursorStyle{Blink: false}}
		if o.Styles != nil {
			st.Focused = textinput.StyleState{Text: o.Styles.Normal, Placeholder: o.Styles.Muted}
			st.Blurred = textinput.StyleState{Text: o.Styles.Muted, Placeholder: o.Styles.Muted}
		}
		in.SetStyles(st)
		switch fd {
		case Part:
			in.SetValue(o.Part)
		case Dir:
			in.SetValue(o.Dir)
		case Text:
		default:
			in.SetValue(found[fd])
		}
		f.inputs[fd] = &in
	}
	f.setFocus(0)
	return f
}

// Find looks in dirs (and their subdirectories, one level down) for the
// credential files under the names make-password, make-certs and sim
// credentials write. A password file found first wins over a key and
// chain in a later directory, and the .obk file is taken from the same
// directory as the credentials where there is one.
func Find(dirs []string) map[Field]string {
	out := map[Field]string{}
	var cands []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		cands = append(cands, d)
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				cands = append(cands, filepath.Join(d, e.Name()))
			}
		}
	}
	exists := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode().IsRegular()
	}
	for _, d := range cands {
		if pw := filepath.Join(d, dacred.PasswordFile); exists(pw) {
			out[Password] = pw
			if obk := filepath.Join(d, dacred.PasswordOBKFile); exists(obk) {
				out[OBK] = obk
			}
			return out
		}
		k, c := filepath.Join(d, dacred.LeafKeyFile), filepath.Join(d, dacred.ChainFile)
		if exists(k) && exists(c) {
			out[Key], out[Chain] = k, c
			if obk := filepath.Join(d, dacred.CertOBKFile); exists(obk) {
				out[OBK] = obk
			}
			return out
		}
	}
	for _, d := range cands {
		for _, n := range []string{dacred.PasswordOBKFile, dacred.CertOBKFile, dacred.OTPImageFile} {
			if p := filepath.Join(d, n); exists(p) {
				out[OBK] = p
				return out
			}
		}
	}
	return out
}

// Set sets a text field's value (tests, and pre-filling).
func (f *Form) Set(fd Field, v string) {
	if in := f.inputs[fd]; in != nil {
		in.SetValue(v)
	}
}

// Choose sets a choice field to value v (false when v is not a choice).
func (f *Form) Choose(fd Field, v string) bool {
	for i, c := range f.choices[fd] {
		if c == v {
			f.chosen[fd] = i
			return true
		}
	}
	return false
}

// Value is a field's value as typed or chosen.
func (f *Form) Value(fd Field) string {
	if in := f.inputs[fd]; in != nil {
		return strings.TrimSpace(in.Value())
	}
	if cs := f.choices[fd]; len(cs) > 0 {
		return cs[f.chosen[fd]]
	}
	return ""
}

func (f *Form) setFocus(i int) tea.Cmd {
	if len(f.fields) == 0 {
		return nil
	}
	f.focus = (i + len(f.fields)) % len(f.fields)
	var cmd tea.Cmd
	for j, fd := range f.fields {
		if in := f.inputs[fd]; in != nil {
			if j == f.focus {
				cmd = in.Focus()
				in.CursorEnd() // a long path shows its end, the file's name
			} else {
				in.Blur()
			}
		}
	}
	return cmd
}

// Result is what a key did to the form.
type Result int

// Results of Update.
const (
	Editing Result = iota
	Submitted
	Cancelled
)

var (
	keyNext   = key.NewBinding(key.WithKeys("tab", "down"))
	keyPrev   = key.NewBinding(key.WithKeys("shift+tab", "up"))
	keySubmit = key.NewBinding(key.WithKeys("enter"))
	keyCancel = key.NewBinding(key.WithKeys("esc"))
	keyCycle  = key.NewBinding(key.WithKeys("space", "left", "right"))
)

// Keys are the form's bindings, for the help.
func Keys() []key.Binding {
	return []key.Binding{
		common.Binding("tab", "complete a path, else next field", "tab"),
		common.Binding("↑/↓", "other field", "down", "up", "shift+tab"),
		common.Binding("space", "change choice", "space"),
		common.Binding("enter", "check and go on", "enter"),
		common.Binding("esc", "cancel", "esc"),
	}
}

// Update handles a key. Submitted means the caller should call Check.
func (f *Form) Update(msg tea.KeyPressMsg) (Result, tea.Cmd) {
	switch {
	case key.Matches(msg, keyCancel):
		return Cancelled, nil
	case key.Matches(msg, keySubmit):
		return Submitted, nil
	case msg.String() == "tab" && f.complete():
		return Editing, nil
	case key.Matches(msg, keyNext):
		f.matches = nil
		return Editing, f.setFocus(f.focus + 1)
	case key.Matches(msg, keyPrev):
		f.matches = nil
		return Editing, f.setFocus(f.focus - 1)
	}
	if len(f.fields) == 0 {
		return Editing, nil
	}
	fd := f.fields[f.focus]
	if cs := f.choices[fd]; len(cs) > 0 {
		if key.Matches(msg, keyCycle) {
			d := 1
			if msg.String() == "left" {
				d = len(cs) - 1
			}
			f.chosen[fd] = (f.chosen[fd] + d) % len(cs)
			delete(f.errs, fd)
		}
		return Editing, nil
	}
	in := f.inputs[fd]
	n, cmd := in.Update(msg)
	*in = n
	delete(f.errs, fd)
	f.err, f.matches = "", nil
	return Editing, cmd
}

// isPath reports whether fd holds a path.
func (fd Field) isPath() bool {
	switch fd {
	case Password, Key, Chain, OBK, SaveFlash, Dir:
		return true
	}
	return false
}

// complete completes the focused path field as a shell does: the one
// name that starts with what is typed, or what all such names share;
// several left are listed under the field. It reports whether it did
// anything (else tab goes to the next field).
func (f *Form) complete() bool {
	if len(f.fields) == 0 {
		return false
	}
	fd := f.fields[f.focus]
	in := f.inputs[fd]
	if in == nil || !fd.isPath() || strings.TrimSpace(in.Value()) == "" {
		return false
	}
	got, matches := CompletePath(in.Value(), fd == Dir)
	f.matches = nil
	if got != in.Value() {
		in.SetValue(got)
		in.CursorEnd()
		if len(matches) > 1 {
			f.matches = matches
		}
		return true
	}
	if len(matches) > 1 {
		f.matches = matches
		return true
	}
	return false
}

// CompletePath completes path s: the directory entries whose names start
// with its last element (directories only when dirs), and s extended by
// what they all share ("/" after a directory that is the only match).
func CompletePath(s string, dirs bool) (string, []string) {
	dir, base := filepath.Split(s)
	look := dir
	if look == "" {
		look = "."
	}
	if strings.HasPrefix(look, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			look = filepath.Join(home, look[2:])
		}
	}
	ents, err := os.ReadDir(look)
	if err != nil {
		return s, nil
	}
	var names []string
	isDir := map[string]bool{}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, base) || strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		d := e.IsDir()
		if !d && e.Type()&os.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(look, n)); err == nil {
				d = st.IsDir()
			}
		}
		if dirs && !d {
			continue
		}
		names = append(names, n)
		isDir[n] = d
	}
	switch len(names) {
	case 0:
		return s, nil
	case 1:
		out := dir + names[0]
		if isDir[names[0]] {
			out += string(filepath.Separator)
		}
		return out, names
	}
	common := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, common) {
			common = common[:len(common)-1]
		}
	}
	return dir + common, names
}

// has reports whether the form has field fd.
func (f *Form) has(fd Field) bool {
	for _, x := range f.fields {
		if x == fd {
			return true
		}
	}
	return false
}

// Check reads and checks every field; on a problem it marks the field
// (shown by View) and returns an error naming it.
func (f *Form) Check() (*Values, error) {
	f.errs, f.err = map[Field]string{}, ""
	v := &Values{Paths: map[Field]string{}}
	for _, fd := range f.fields {
		v.Paths[fd] = f.Value(fd)
	}
	bad := func(fd Field, err error) {
		if _, ok := f.errs[fd]; !ok {
			f.errs[fd] = err.Error()
		}
	}
	if f.has(Password) || f.has(Key) || f.has(Chain) {
		c, fd, err := LoadCredentials(v.Paths[Password], v.Paths[Key], v.Paths[Chain])
		if err != nil {
			bad(fd, err)
		}
		v.Credentials = c
	}
	if f.has(OBK) {
		p := v.Paths[OBK]
		switch b, err := da.LoadOBK(p); {
		case p == "":
			bad(OBK, errors.New("give the .obk file"))
		case err != nil:
			bad(OBK, fmt.Errorf("cannot read it: %w", unwrapPath(err)))
		default:
			v.OBK = b
		}
	}
	if f.has(Part) && v.Paths[Part] != "" {
		p, err := stm32h5.LookupPart(v.Paths[Part])
		if err != nil {
			bad(Part, err)
		}
		v.Part = p.Name
	}
	if f.has(Permission) {
		p, err := da.ParsePermission(v.Paths[Permission])
		if err != nil {
			bad(Permission, err)
		}
		v.Permission = p
	}
	if f.has(Method) {
		v.Certificates = v.Paths[Method] == "certificates"
	}
	if f.has(Dir) {
		v.Dir = v.Paths[Dir]
		if v.Dir == "" {
			bad(Dir, errors.New("give the directory the files go into"))
		} else if st, err := os.Stat(v.Dir); err == nil && !st.IsDir() {
			bad(Dir, errors.New("this is a file, not a directory"))
		}
	}
	if f.has(Text) {
		v.Text = v.Paths[Text]
		if v.Text != "" && v.Certificates {
			bad(Text, errors.New("the certificate kit has no password: leave it empty"))
		}
	}
	if f.has(Part) && v.Paths[Part] == "" && f.has(Dir) {
		bad(Part, errors.New("give the part (H503, H523, H533, H562, H563 or H573)"))
	}
	if f.has(SaveFlash) {
		if err := CheckNewFile(v.Paths[SaveFlash]); err != nil {
			bad(SaveFlash, err)
		}
		v.SaveFlash = v.Paths[SaveFlash]
	}
	for i, fd := range f.fields {
		if msg, ok := f.errs[fd]; ok {
			f.setFocus(i)
			f.err = fd.label() + ": " + msg
			return nil, errors.New(f.err)
		}
	}
	return v, nil
}

// LoadCredentials reads a password file, or a key and a chain, and says
// which field is wrong when they cannot be read.
func LoadCredentials(password, keyPath, chain string) (da.Credentials, Field, error) {
	switch {
	case password != "" && (keyPath != "" || chain != ""):
		return da.Credentials{}, Password, errors.New("give a password file, or a key and a chain, not both")
	case password != "":
		c, err := da.LoadPassword(password)
		if err != nil {
			return c, Password, unwrapPath(err)
		}
		return c, Password, nil
	case keyPath == "" && chain == "":
		return da.Credentials{}, Password, errors.New("give a password file, or the leaf key and the certificate chain")
	case keyPath == "":
		return da.Credentials{}, Key, errors.New("give the leaf key that goes with the chain")
	case chain == "":
		return da.Credentials{}, Chain, errors.New("give the certificate chain that goes with the key")
	}
	c, err := da.LoadCertificate(keyPath, chain)
	if err != nil {
		fd := Key
		if msg := err.Error(); !errors.Is(err, dacred.ErrKeyMismatch) && (strings.Contains(msg, "certificate chain") || chain != keyPath && strings.Contains(msg, chain)) {
			fd = Chain
		}
		return c, fd, unwrapPath(err)
	}
	return c, Key, nil
}

// CheckNewFile checks that path ("" is fine: nothing to save) names a file
// that does not exist yet in a directory that does.
func CheckNewFile(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err == nil {
		return errors.New("the file exists: give a new file name (nothing is overwritten)")
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return fmt.Errorf("the directory %s does not exist", filepath.Dir(path))
	}
	return nil
}

// unwrapPath shortens "open X: no such file or directory" to the cause.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// View draws the form as lines of at most w columns with the pane's pens.
func (f *Form) View(w int, p *common.Pens) []string {
	var out []string
	for _, l := range common.Wrap(f.Title, max(10, w)) {
		out = append(out, p.Accent.Render(l))
	}
	const lw = 15
	for i, fd := range f.fields {
		mark := "  "
		if i == f.focus {
			mark = "▸ "
		}
		val := ""
		if in := f.inputs[fd]; in != nil {
			if in.Width() != max(10, w-lw-4) {
				in.SetWidth(max(10, w-lw-4))
				in.SetCursor(in.Position()) // the visible part follows the new width
			}
			val = in.View()
			if v := in.Value(); i != f.focus && fd.isPath() && len([]rune(v)) > max(10, w-lw-4) {
				// a long path not being edited: its end (the file's name)
				// is what tells it apart
				r := []rune(v)
				val = p.Muted.Render("…" + string(r[len(r)-max(10, w-lw-4)+1:]))
			}
		} else {
			var cs []string
			for j, c := range f.choices[fd] {
				if j == f.chosen[fd] {
					c = "[" + c + "]"
					if i == f.focus {
						c = p.Selected.Render(c)
					}
				} else {
					c = p.Muted.Render(" " + c + " ")
				}
				cs = append(cs, c)
			}
			val = strings.Join(cs, " ") + p.Muted.Render("  (space changes)")
		}
		label := fd.label()
		label += strings.Repeat(" ", max(0, lw-len(label)))
		out = append(out, mark+p.Muted.Render(label)+" "+val)
		if e, ok := f.errs[fd]; ok {
			out = append(out, "    "+p.Bad.Render("✖ "+e))
		}
		if i == f.focus && len(f.matches) > 1 {
			list := strings.Join(f.matches[:min(len(f.matches), 12)], "  ")
			if len(f.matches) > 12 {
				list += fmt.Sprintf("  … (%d in all)", len(f.matches))
			}
			out = append(out, "    "+p.Muted.Render(common.Truncate(list, max(10, w-4))))
		}
	}
	foot := "tab completes a path, else next field · enter checks the files and plans (nothing is written) · esc cancels"
	if f.has(Dir) {
		foot = "tab completes a path, else next field · enter makes the files (nothing touches the chip) · esc cancels"
	}
	for _, l := range common.Wrap(foot, max(10, w)) {
		out = append(out, p.Muted.Render(l))
	}
	return out
}
