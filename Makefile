# Lever — the README's commands. `make run` installs what is missing and serves Lever on
# http://127.0.0.1:8080; `make test` runs every suite, then again under ASan + UBSan.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
VAR := $(CURDIR)/var
MESON_OPTS := --buildtype=debugoptimized -Dwerror=true

.PHONY: run stop test build bench fmt fmt-check clean bootstrap

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja:
	@meson setup $(BUILD) $(MESON_OPTS) >/dev/null

$(ASAN_BUILD)/build.ninja:
	@meson setup $(ASAN_BUILD) --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined \
	  -Db_lundef=false >/dev/null

build: bootstrap $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

run: build
	@scripts/run-lever $(BUILD)

stop:
	@scripts/pg stop $(VAR)/pg

test: bootstrap $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	@scripts/test-all $(BUILD) $(ASAN_BUILD)

bench: build
	@scripts/run-bench $(BUILD)

fmt:
	@clang-format -i $$(git ls-files '*.c' '*.h')

fmt-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
