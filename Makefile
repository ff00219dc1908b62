# longhaul: plain make. Every src/NAME.c that is not src/lh-*.c is a tool;
# src/lh-*.c make the library liblonghaul.a that the tools share.
PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/longhaul
MANDIR  = $(PREFIX)/share/man

CFLAGS  = -O2 -g
LDFLAGS =
# warnings and the language level go on top of the user's CFLAGS
LH_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DLH_SHAREDIR=\"$(SHAREDIR)\" -Wall -Wextra $(CFLAGS)
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

demo: deps
	$(MAKE) all
	sh examples/demo/run

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/prompts \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp $(TOOLS) $(SCRIPTS) $(DESTDIR)$(BINDIR)/
	for f in share/prompts/* share/*.json; do [ ! -f "$$f" ] || cp "$$f" "$(DESTDIR)$(SHAREDIR)/$${f#share/}"; done
	for f in $(MAN1) $(MAN5) $(MAN7); do cp "$$f" "$(DESTDIR)$(MANDIR)/man$${f##*.}/"; done

clean:
	rm -f $(TOOLS) src/*.o liblonghaul.a
	rm -rf t/trash.*

.PHONY: all check bench demo install clean deps engines
