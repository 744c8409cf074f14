# Two commands: `make run` and `make test` (see README.md). Everything else is a convenience.
BUILD ?= build/release
CC ?= gcc

.PHONY: all deps build run test bench fuzz format format-check install clean

all: build

deps:
	@scripts/bootstrap.sh

build: deps
	@if [ -f $(BUILD)/build.ninja ]; then meson setup --reconfigure $(BUILD) >/dev/null; \
	 else CC=gcc meson setup $(BUILD) >/dev/null; fi
	@ninja -C $(BUILD)

# `run` starts the example gateway (MQTT 127.0.0.1:1883, WebSocket 127.0.0.1:8080/mqtt).
# Extra gateway flags: make run ARGS="--log-level debug".
run: build
	@scripts/run.sh $(BUILD) $(ARGS)

test:
	@scripts/test-all.sh

bench: deps
	@scripts/bench.sh

fuzz: deps
	@scripts/fuzz.sh $${FUZZ_SECONDS:-300}

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

install: build
	@meson install -C $(BUILD)

clean:
	@rm -rf build
