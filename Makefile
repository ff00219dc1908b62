# longhaul: plain make. The installed tools find their prompts and prices
# relative to themselves (BINDIR/../share/longhaul), so a tree installed
# under any PREFIX, or staged in DESTDIR and moved, works as it is.
# Every src/NAME.c that is not src/lh-*.c is a tool;
# src/lh-*.c make the library liblonghaul.a that the tools share.
VERSION = 0.1
PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/longhaul
MANDIR  = $(PREFIX)/share/man

CFLAGS  = -O2 -g
LDFLAGS =
# warnings and the language level go on top of the user's CFLAGS
LH_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DLH_SHAREDIR=\"$(SHAREDIR)\" -DLH_VERSION=\"$(VERSION)\" -Wall -Wextra $(CFLAGS)
LH_LDFLAGS = -Wl,--as-needed $(LDFLAGS)
LDLIBS  = -ljansson -lcurl -lm

LIBSRC  = $(sort $(wildcard src/lh-*.c))
LIBOBJ  = $(LIBSRC:.c=.o)
TOOLSRC = $(filter-out $(LIBSRC),$(sort $(wildcard src/*.c)))
TOOLS   = $(TOOLSRC:src/%.c=%)
SCRIPTS = $(sort $(wildcard bin/*))
MAN1    = $(sort $(wildcard man/*.1))
MAN5    = $(sort $(wildcard man/*.5))
MAN7    = $(sort $(wildcard man/*.7))

all: $(TOOLS)

$(TOOLS): %: src/%.o liblonghaul.a
	$(CC) $(LH_LDFLAGS) -o $@ $< liblonghaul.a $(LDLIBS)

src/%.o: src/%.c src/longhaul.h src/lh-llm.h
	$(CC) $(LH_CFLAGS) -c -o $@ $<

liblonghaul.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

deps:
	sh mk/deps

# the agent CLIs for engine-run (not needed by make check: those tests skip)
engines:
	sh mk/engines

check: deps
	$(MAKE) all
	prove -j2 $(PROVEFLAGS) t/*.t

bench: deps
	$(MAKE) all
	sh t/perf/run

# the chaos test, bigger and longer: doc/chaos.md
chaos: deps
	$(MAKE) all
	CHAOS_TASKS=$${CHAOS_TASKS:-400} CHAOS_WORKERS=$${CHAOS_WORKERS:-16} \
	    CHAOS_TIMEOUT=$${CHAOS_TIMEOUT:-1800} prove -v t/0420-chaos.t

demo: deps
	$(MAKE) all
	sh examples/demo/run

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/prompts $(DESTDIR)$(SHAREDIR)/report \
	    $(DESTDIR)$(SHAREDIR)/hooks \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp $(TOOLS) $(SCRIPTS) $(DESTDIR)$(BINDIR)/
	for f in share/prompts/* share/report/* share/hooks/* share/*.json; do [ ! -f "$$f" ] || cp "$$f" "$(DESTDIR)$(SHAREDIR)/$${f#share/}"; done
	for f in $(MAN1) $(MAN5) $(MAN7); do cp "$$f" "$(DESTDIR)$(MANDIR)/man$${f##*.}/"; done

uninstall:
	for f in $(TOOLS) $(SCRIPTS); do rm -f "$(DESTDIR)$(BINDIR)/$${f##*/}"; done
	rm -rf "$(DESTDIR)$(SHAREDIR)"
	for f in $(MAN1) $(MAN5) $(MAN7); do rm -f "$(DESTDIR)$(MANDIR)/man$${f##*.}/$${f##*/}"; done

# Fuzzing (doc/fuzz.md): each t/fuzz/NAME.c is a libFuzzer harness,
# built with clang, AddressSanitizer and UBSan against a library built
# the same way; `make fuzz FUZZ_SECONDS=600` runs each that long and
# adds what finds new coverage to t/fuzz/corpus/NAME/ (FUZZ_MERGE=0:
# keep the corpus as it is, as CI does).
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_MERGE = 1
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DLH_SHAREDIR=\"$(SHAREDIR)\" \
	-g -O1 -fno-omit-frame-pointer -Wall -Wextra $(FUZZ_SAN)
FUZZSRC = $(sort $(wildcard t/fuzz/*.c))
FUZZERS = $(FUZZSRC:t/fuzz/%.c=t/fuzz/bin/%)
FUZZLIBOBJ = $(LIBSRC:src/%.c=t/fuzz/bin/%.o)

t/fuzz/bin/%.o: src/%.c src/longhaul.h src/lh-llm.h
	@mkdir -p t/fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

t/fuzz/bin/liblonghaul.a: $(FUZZLIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(FUZZLIBOBJ)

t/fuzz/bin/%: t/fuzz/%.c t/fuzz/fuzz.h t/fuzz/bin/liblonghaul.a $(wildcard src/*.c) src/longhaul.h src/lh-llm.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< t/fuzz/bin/liblonghaul.a $(LDLIBS) -lpthread

fuzzers: $(FUZZERS)

fuzz: deps
	FUZZ=1 sh mk/deps
	$(MAKE) fuzzers
	sh t/fuzz/run $(FUZZ_SECONDS) $(FUZZ_MERGE) $(FUZZ_ONLY)

clean:
	rm -f $(TOOLS) src/*.o liblonghaul.a
	rm -rf t/trash.* t/fuzz/bin t/fuzz/work

.PHONY: all check bench chaos demo install uninstall clean deps fuzz fuzzers engines
