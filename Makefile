# stprobe — two commands on a fresh machine: `make run` and `make test`.
# Both install the system packages they need (Debian, as root) first.

GO      ?= go
BIN     := bin/stprobe
SCENARIO ?= h533-provisioning

RUN_PKGS  := libusb-1.0-0-dev pkg-config
TEST_PKGS := $(RUN_PKGS) openocd stlink-tools umockdev gir1.2-umockdev-1.0 python3-gi tmux openssh-client

.PHONY: run test build deps-run deps-test vet clean

run: deps-run build
	./$(BIN) info

build:
	$(GO) build -o $(BIN) .

test: deps-test vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

deps-run:
	@scripts/install-deps.sh $(RUN_PKGS)

deps-test:
	@scripts/install-deps.sh $(TEST_PKGS)

clean:
	rm -rf bin
