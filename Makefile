# libemb — one Makefile. Targets:
#   make              library (lib/), CLI (bin/emb), built-in model (models/wordnet-mini.h5)
#   make test         build and run the cmocka suite
#   make asan         the suite again under AddressSanitizer + UBSan (in build/asan/)
#   make check        include layering + fuzz + test + asan (what CI runs)
#   make valgrind     the suite under valgrind memcheck
#   make install / uninstall   PREFIX=/usr/local DESTDIR=
#   make bench        benchmarks (see bench/ and docs/performance.md)
#   make bench-corpus the seed workload: 40 000 python3.11-doc paragraphs, libemb
#                     against sentence-transformers (bench/corpus/; not CI, ~1 h)
#   make models       fetch the pinned real checkpoints (scripts/fetch-models.py)
#                     and convert them (models/<name>.h5, models/<name>-int8.h5)
#   make clean

VERSION   := 1.0.0
SOVERSION := 1
PREFIX    ?= /usr/local
DESTDIR   ?=
LIBDIR_INSTALL ?= $(PREFIX)/lib
INCDIR_INSTALL ?= $(PREFIX)/include
BINDIR_INSTALL ?= $(PREFIX)/bin
DATADIR_INSTALL ?= $(PREFIX)/share/emb

# OUT: where this build's lib/ bin/ and objects go ("." for the normal build)
OUT       ?= .
OBJ       := $(OUT)/build/obj
LIBOUT    := $(OUT)/lib
BINOUT    := $(OUT)/bin
TESTOUT   := $(OUT)/build/tests

CC        ?= cc
DEPS      := hdf5 openblas libutf8proc libpcre2-8 jansson
DEP_CFLAGS := $(shell pkg-config --cflags $(DEPS))
DEP_LIBS   := $(shell pkg-config --libs $(DEPS)) -lm -lpthread
WARN      := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
OPT       ?= -O2 -g
SANFLAGS  :=
ifeq ($(SANITIZE),1)
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined
OPT       := -O1 -g -fno-omit-frame-pointer $(SANFLAGS)
endif
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC -fvisibility=hidden \
              -Iinclude -Isrc $(DEP_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

LIB_SRC   := $(sort $(wildcard src/api/*.c src/convert/*.c src/format/*.c src/tokenizer/*.c \
                               src/model/*.c src/kernels/*.c src/runtime/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(OBJ)/%.o)
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(OBJ)/%.o)
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_BIN  := $(TEST_SRC:tests/%.c=$(TESTOUT)/%)
TEST_HELPERS := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))

SO_REAL   := $(LIBOUT)/libemb.so.$(VERSION)
SO_NAME   := $(LIBOUT)/libemb.so.$(SOVERSION)
SO_LINK   := $(LIBOUT)/libemb.so
STATIC    := $(LIBOUT)/libemb.a
EMB       := $(BINOUT)/emb
CLI_LIBS  := $(shell pkg-config --libs jansson libmicrohttpd hdf5)
# the SQLite loadable extension (sqlite/), built when its source is present
SQLITE_SRC := $(wildcard sqlite/*.c)
SQLITE_EXT := $(if $(SQLITE_SRC),$(LIBOUT)/libemb_sqlite.so)
BUILTIN   := $(OUT)/models/wordnet-mini.h5
# real checkpoints: folders left by scripts/fetch-models.py (not in git);
# `make` converts each that is there, in fp32 and int8 (docs/models.md)
REAL_DIRS := $(patsubst %/model.safetensors,%,$(filter-out models/wordnet-mini/%,\
                 $(wildcard models/*/model.safetensors)))
REAL_H5   := $(REAL_DIRS:%=%.h5) $(REAL_DIRS:%=%-int8.h5)

.PHONY: all lib test check check-includes asan valgrind install uninstall clean bench bench-corpus fuzz fuzz-ci models
all: lib $(EMB) $(BUILTIN) $(SQLITE_EXT) $(REAL_H5)
lib: $(SO_REAL) $(SO_NAME) $(SO_LINK) $(STATIC)

# each object depends on the headers it includes: -MMD writes them to its .d
# file as it compiles, -MP adds an empty rule per header so that a removed
# header does not stop the build; an object whose .d is missing is rebuilt
$(OBJ)/%.o: %.c $(OBJ)/%.d
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@
DEP_FILES := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
$(DEP_FILES):
-include $(wildcard $(DEP_FILES))

$(SO_REAL): $(LIB_OBJ) src/libemb.map
	@mkdir -p $(LIBOUT)
	$(CC) -shared -Wl,-soname,libemb.so.$(SOVERSION) -Wl,--version-script=src/libemb.map \
	    -Wl,--no-undefined -o $@ $(LIB_OBJ) $(LDFLAGS_ALL) $(DEP_LIBS)
$(SO_NAME): $(SO_REAL)
	ln -sf libemb.so.$(VERSION) $@
$(SO_LINK): $(SO_NAME)
	ln -sf libemb.so.$(SOVERSION) $@
$(STATIC): $(LIB_OBJ)
	@mkdir -p $(LIBOUT)
	rm -f $@ && ar rcs $@ $(LIB_OBJ)

$(EMB): $(CLI_OBJ) $(SO_NAME)
	@mkdir -p $(BINOUT)
	$(CC) -o $@ $(CLI_OBJ) -L$(LIBOUT) -lemb -Wl,-rpath,'$$ORIGIN/../lib' $(LDFLAGS_ALL) $(CLI_LIBS) -lm -lpthread

$(SQLITE_EXT): $(SQLITE_SRC) include/emb.h $(SO_NAME)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(SQLITE_SRC) -L$(LIBOUT) -lemb -Wl,-rpath,'$$ORIGIN' $(LDFLAGS_ALL)

# the built-in demo model, converted from the shipped Hugging Face folder
$(BUILTIN): $(EMB) $(wildcard models/wordnet-mini/*.json models/wordnet-mini/*/*.json) models/wordnet-mini/model.safetensors
	@mkdir -p $(dir $@)
	$(EMB) convert models/wordnet-mini $@

# the real checkpoints, converted in the source tree (also from the sanitizer
# build, which reuses them rather than converting its own copies)
models/%-int8.h5: models/%/model.safetensors models/%/config.json | $(EMB)
	$(EMB) convert models/$* $@ --dtype int8
models/%.h5: models/%/model.safetensors models/%/config.json | $(EMB)
	$(EMB) convert models/$* $@

# fetch (verified by SHA-256, nothing half-written) and convert them
models:
	/usr/bin/python3 scripts/fetch-models.py
	$(MAKE) all

# tests: one cmocka program per tests/test_*.c, linked statically so that
# internal functions can be tested too
$(TESTOUT)/%: tests/%.c $(TEST_HELPERS) $(wildcard tests/*.h) $(STATIC)
	@mkdir -p $(TESTOUT)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $< $(TEST_HELPERS) $(STATIC) $(LDFLAGS_ALL) $(DEP_LIBS) -lcmocka

# C programs first, then (not in the sanitizer build, which other
# interpreters cannot load) the Python and Ruby suites
test: all $(TEST_BIN)
	@EMB_BIN=$(EMB) EMB_LIBDIR=$(LIBOUT) sh tests/run.sh $(TEST_BIN)
ifneq ($(SANITIZE),1)
	@EMB_BIN=$(EMB) EMB_LIBDIR=$(LIBOUT) sh tests/run-bindings.sh
endif

asan:
	$(MAKE) OUT=build/asan SANITIZE=1 test

# CI: the layering of src/ (scripts/check-includes.sh, and its own test), a
# short, seeded fuzz run of every harness (fuzz/ci.sh), then the suite, then
# the suite under ASan+UBSan
check: check-includes fuzz-ci test asan

check-includes:
	@sh scripts/check-includes.sh src
	@sh tests/check-includes-test.sh

valgrind: all $(TEST_BIN)
	@EMB_BIN=$(EMB) EMB_LIBDIR=$(LIBOUT) EMB_VALGRIND=1 sh tests/run.sh $(TEST_BIN)

bench: all
	@sh bench/run.sh

# needs python3.11-doc (apt), the real models (make models) and a python3 with
# torch + sentence-transformers first on PATH; BENCH_CORPUS_ARGS="--limit 400" for a smoke run
bench-corpus: all
	python3 bench/corpus/run.py $(BENCH_CORPUS_ARGS)

# into DATADIR_INSTALL: the demo model, and the real default model
# all-MiniLM-L6-v2.h5 when `make models` has made it (emb then prefers it)
install: all
	install -d $(DESTDIR)$(LIBDIR_INSTALL) $(DESTDIR)$(INCDIR_INSTALL) $(DESTDIR)$(BINDIR_INSTALL) \
	    $(DESTDIR)$(LIBDIR_INSTALL)/pkgconfig $(DESTDIR)$(DATADIR_INSTALL)
	install -m 644 include/emb.h $(DESTDIR)$(INCDIR_INSTALL)/emb.h
	install -m 755 $(SO_REAL) $(DESTDIR)$(LIBDIR_INSTALL)/
	ln -sf libemb.so.$(VERSION) $(DESTDIR)$(LIBDIR_INSTALL)/libemb.so.$(SOVERSION)
	ln -sf libemb.so.$(SOVERSION) $(DESTDIR)$(LIBDIR_INSTALL)/libemb.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR_INSTALL)/libemb.a
	install -m 755 $(EMB) $(DESTDIR)$(BINDIR_INSTALL)/emb
	install -m 644 $(BUILTIN) $(DESTDIR)$(DATADIR_INSTALL)/wordnet-mini.h5
	if [ -f models/all-MiniLM-L6-v2.h5 ]; then \
	    install -m 644 models/all-MiniLM-L6-v2.h5 $(DESTDIR)$(DATADIR_INSTALL)/all-MiniLM-L6-v2.h5; fi
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR_INSTALL)|' \
	    -e 's|@INCDIR@|$(INCDIR_INSTALL)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@PRIVATE_LIBS@|$(DEP_LIBS)|' \
	    emb.pc.in > $(DESTDIR)$(LIBDIR_INSTALL)/pkgconfig/emb.pc

uninstall:
	rm -f $(DESTDIR)$(INCDIR_INSTALL)/emb.h $(DESTDIR)$(BINDIR_INSTALL)/emb \
	    $(DESTDIR)$(LIBDIR_INSTALL)/libemb.so.$(VERSION) $(DESTDIR)$(LIBDIR_INSTALL)/libemb.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR_INSTALL)/libemb.so $(DESTDIR)$(LIBDIR_INSTALL)/libemb.a \
	    $(DESTDIR)$(LIBDIR_INSTALL)/pkgconfig/emb.pc $(DESTDIR)$(DATADIR_INSTALL)/wordnet-mini.h5 \
	    $(DESTDIR)$(DATADIR_INSTALL)/all-MiniLM-L6-v2.h5
	-rmdir $(DESTDIR)$(DATADIR_INSTALL) 2>/dev/null

# libFuzzer harnesses (fuzz/, docs/security.md "Fuzzing"): built with clang
# into build/fuzz/, each run FUZZ_SECONDS seconds, one after the other
FUZZ_SECONDS ?= 60
fuzz:
	@sh fuzz/run.sh $(FUZZ_SECONDS)

fuzz-ci:
	@sh fuzz/ci.sh

clean:
	rm -rf build lib bin $(BUILTIN)
