# stprobe — two commands on a fresh machine: `make run` and `make test`.
# Both install the system packages they need (Debian, as root) first.

GO          ?= go
BIN         := bin/stprobe
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

RUN_PKGS  := libusb-1.0-0-dev pkg-config
TEST_PKGS := $(RUN_PKGS) openocd stlink-tools umockdev gir1.2-umockdev-1.0 python3-gi tmux openssh-client gdb-multiarch python3-pyocd stm32flash dfu-util

.PHONY: run test build deps-run deps-test lint clean bench screenshots

# The console; on the simulated seed board when no ST-LINK is plugged in.
run: deps-run build
	./$(BIN)

build:
	$(GO) build -o $(BIN) .

test: deps-test lint
	$(GO) test -race -count=1 ./...

# stprobe against OpenOCD and pyOCD on one simulated server and modelled
# clock: modelled time, USB transfers, their ratio and wall-clock time.
bench: deps-test build
	GO="$(GO)" scripts/bench.sh
	$(GO) test -run '^$$' -bench . -benchtime 20x ./bench ./serve ./tui/...

# The README's pictures of the console (docs/images/), from the real binary
# in tmux on the simulated seed board, drawn by freeze.
screenshots: deps-run
	GO="$(GO)" scripts/screenshots.sh

# gofmt, go vet and staticcheck must all be clean.
lint:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

deps-run:
	@scripts/install-deps.sh $(RUN_PKGS)

deps-test:
	@scripts/install-deps.sh $(TEST_PKGS)

clean:
	rm -rf bin
