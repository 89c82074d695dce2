#!/usr/bin/env bash
# Renders the README's screenshots of the console into docs/images/.
#
# The real binary (bin/stprobe, built here) runs in tmux at a fixed size on
# the simulated seed board (h533-provisioning); tmux send-keys drives it as a
# person would, capture-pane -e keeps the colours, and freeze
# (github.com/charmbracelet/freeze) draws each screen as SVG, which
# rsvg-convert turns into PNG.
#
# Needs Go, tmux, rsvg-convert (librsvg2-bin) and the DejaVu fonts (installed
# here on Debian when missing); freeze is built from its module. Takes about
# half a minute (a few more the first time, to build freeze).
#
#   scripts/screenshots.sh [-keep]    -keep leaves the captures (.ans) and SVGs
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
FREEZE=github.com/charmbracelet/freeze@v0.2.2
OUT=docs/images
keep=false
[ "${1:-}" = "-keep" ] && keep=true

scripts/install-deps.sh tmux librsvg2-bin fonts-dejavu-core

work=$(mktemp -d)
sock="stprobe-screenshots-$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	if $keep; then echo "captures kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "building bin/stprobe and freeze"
$GO build -o bin/stprobe .
GOBIN="$work/bin" $GO install "$FREEZE"
mkdir -p "$OUT"

# The console sees a truecolor xterm (inside tmux it would ask tmux, which
# has no client here, and fall back to 256 colours).
echo 'set -g default-terminal xterm-256color' >"$work/tmux.conf"

# start W H [SCENARIO]: a fresh console on the seed board (or SCENARIO) in a
# W×H terminal. It runs in a directory of its own, holding creds/ (for the
# credentials the console makes) and app.bin (20 KiB, the firmware put back
# at the end), with STPROBE_STATE_DIR="~/.local/state/stprobe" (a relative
# path, so nothing is written outside it): the plan then names the default
# place of the backups, the same on every run.
start() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	local sc=${3:-h533-provisioning}
	local run="$work/run-$sc-$1x$2"
	rm -rf "$run" && mkdir -p "$run/creds"
	perl -e 'print map { chr(($_ * 7 + 3) & 255) } 0 .. 20479' >"$run/app.bin"
	tmux -L "$sock" -f "$work/tmux.conf" new-session -d -s console -x "$1" -y "$2" -c "$run" \
		-e COLORTERM=truecolor \
		-e STPROBE_STATE_DIR='~/.local/state/stprobe' \
		"$PWD/bin/stprobe" --sim "$sc"
	tmux -L "$sock" set-option -t console remain-on-exit on >/dev/null
	wait_for "SIMULATED $sc" "you hold the probe"
}

screen() { tmux -L "$sock" capture-pane -p -t console; }

keys() { tmux -L "$sock" send-keys -t console "$@"; }

# key K...: each key alone, read by the console before the next (an escape
# followed at once by a letter reads as alt+letter).
key() {
	local k
	for k in "$@"; do
		keys "$k"
		sleep 0.15
	done
}

# typetext TEXT: TEXT typed literally.
typetext() { tmux -L "$sock" send-keys -t console -l "$1"; sleep 0.15; }

# phrase RE: the confirmation phrase on the screen that matches RE.
phrase() {
	local p
	p=$(screen | grep -oE "$1" | head -n 1)
	[ -n "$p" ] || { echo "no phrase matching $1 on the screen:" >&2; screen >&2; exit 1; }
	echo "$p"
}

# wait_for TEXT...: until the screen shows every TEXT, then until it stops
# changing (a spinner or a late frame); fails after 30 s.
wait_for() {
	local deadline=$((SECONDS + 30)) s t missing
	while :; do
		s=$(screen)
		missing=""
		for t in "$@"; do
			if [[ $s != *"$t"* ]]; then missing=$t; break; fi
		done
		[ -z "$missing" ] && break
		if [ $SECONDS -ge $deadline ]; then
			echo "the console never showed \"$missing\"; the screen:" >&2
			echo "$s" >&2
			exit 1
		fi
		sleep 0.1
	done
	local prev=""
	while [ "$s" != "$prev" ] && [ $SECONDS -lt $deadline ]; do
		prev=$s
		sleep 0.3
		s=$(screen)
	done
}

# shot NAME: the screen as it is, with colours and every column (-N keeps
# trailing spaces, such as a badge's padding), into $OUT/NAME.png. freeze
# places backgrounds by column at 1/1.68 of the font size, and DejaVu Sans
# Mono (which has every symbol the console draws) is 0.0068 em wider: the
# letter spacing takes that back so text and backgrounds stay aligned.
# freeze's own PNG is 4x; the SVG through rsvg-convert at 2x is plenty.
shot() {
	# tmux lets a colour run on into the next lines and ends it with
	# "default colour" codes; freeze starts every line afresh and does not
	# know those: sgr-lines.pl spells the state out (perl is in every Debian).
	tmux -L "$sock" capture-pane -e -p -N -t console | perl scripts/sgr-lines.pl >"$work/$1.ans"
	"$work/bin/freeze" --language ansi --font.family "DejaVu Sans Mono" --font.size 14 \
		--window --border.radius 8 --border.width 1 --border.color "#515151" \
		-o "$work/$1.svg" <"$work/$1.ans" >/dev/null
	sed -i 's/<g font-family="DejaVu Sans Mono" font-size="14.00px"/& letter-spacing="-0.095px"/' "$work/$1.svg"
	grep -q 'letter-spacing=' "$work/$1.svg" || { echo "freeze's SVG has changed: no letter spacing set" >&2; exit 1; }
	rsvg-convert --zoom 2 -o "$OUT/$1.png" "$work/$1.svg"
	echo "wrote $OUT/$1.png"
}

# The seed story at 120×36: the sweep, its findings, the first step of the
# rescue (TZEN=0xC3) planned and applied in the option-byte pane, the
# product state written back refused, the DA discovery, the credentials,
# the regression and the firmware put back. (The applied
# screen names the backup, with its time, and the user in the audit line.)
start 120 36
keys s
wait_for "sweep done" "Hot Plug AP1" "PROVISIONING, no DA provisioned"
shot console-matrix
keys f
wait_for "enter take it" "[ Plan TZEN=0xC3 ]"
shot console-findings
keys Enter
wait_for "change: TZEN=0xC3" "plan ready"
shot console-ob-plan
keys Escape
wait_for "edits: TZEN=0xC3"
shot console-ob-table
keys p
wait_for "change: TZEN=0xC3" "press a to apply"
keys a
wait_for "applied and verified" "option bytes applied"
shot console-ob-applied
keys Escape
wait_for "no edits"
keys g Enter Up Enter p
wait_for "REFUSED before any write"
shot console-ob-refused
keys 3 d
wait_for "DA discovery done" "SoC ID"
shot console-da

# The credentials made in the console (the directory completed with tab),
# provisioned, the full regression with the password, and the firmware put
# back from the Flash pane.
key c
wait_for "Make credentials" "[password]" "write into"
key Down
typetext H533
key Down C-u
typetext cr
key Tab
wait_for "creds/"
shot console-da-credentials
key Enter
wait_for "Credentials made" "password.bin" "DA_ConfigWithPassword.obk"
key p
wait_for "creds/DA_ConfigWithPassword.obk"
key Tab
typetext H533
key Enter
wait_for "DA plan: Provision an .obk file" "a opens the guard"
p=$(phrase 'provision H533 [0-9A-F]{8}')
key a
typetext "$p"
key Enter
wait_for "✓ DA provision: OK"
key Escape d
wait_for "DA discovery done" "R Regression"
key R
wait_for "Regression: the credentials" "password.bin"
key Enter
wait_for "DA plan: Regression (full)" "a opens the guard"
p=$(phrase 'regress full [0-9A-F]{8}')
key a
wait_for "REGRESSION of"
typetext "$p"
key Enter
wait_for "✓ DA regress: OK" "5 put the firmware back" "OPEN"
shot console-da-regressed
key 5 e
typetext app.bin@0x08000000
key Enter
wait_for "sectors to erase (3)" "phrase: erase 3 sectors"
key w
wait_for "CAUTION"
typetext "erase 3 sectors"
key Enter
wait_for "verified" "runs the new program"
shot console-flash
keys q

# The smallest size the console is made for.
start 80 24
keys s
wait_for "sweep done" "Under Reset AP1"
shot console-matrix-80x24
keys q

# Another family at 80×24: a Blue Pill at RDP level 1, its finding.
start 80 24 f103-rdp1
keys s
wait_for "sweep done" "Under Reset AP1"
key f
wait_for "read-protected (RDP level 1)" "[ Read the option bytes ]"
shot console-f103-rdp1-80x24
keys q
