# One entry point: build, install, test, demo.
#
#   make                 module (against Debian's installed headers), library, examples, tools
#   make check           native unit tests, then the VM suite
#   make consumer-test   Open MPI rebuilt from Debian's source against libxpmem,
#                        its XPMEM single-copy path in a guest (docs/consumers.md)
#   make install PREFIX=/usr/local DESTDIR=
#
# The target kernel is never the host's `uname -r`: the host cannot load
# modules.  KVER picks one of the installed header trees (default: the
# newest Debian bookworm 6.1 one, else the newest non-debug one; a 6.12
# from backports is built with KVER=6.12..., see docs/kernels.md).

KVER ?= $(or $(shell ls /lib/modules 2>/dev/null | grep -E '^6\.1\.[0-9]+-[0-9]+-amd64$$' | sort -V | tail -n 1),$(shell ls /lib/modules 2>/dev/null | grep -v xpmem-debug | sort -V | tail -n 1))
KDIR ?= /lib/modules/$(KVER)/build
KBUILD_OUT ?= $(CURDIR)/build/kernel-$(KVER)

PREFIX ?= /usr/local
DESTDIR ?=
export PREFIX DESTDIR

.PHONY: all kernel lib examples tools daemon check unit-check vm-check install uninstall \
	clean demo debug-kernel consumer-test

all: kernel lib examples tools daemon

kernel:
	@test -d "$(KDIR)" || { echo "no kernel headers at $(KDIR); apt-get install linux-headers-amd64" >&2; exit 1; }
	$(MAKE) -C kernel KDIR=$(KDIR) KBUILD_OUT=$(KBUILD_OUT)

lib:
	$(MAKE) -C libxpmem

examples: lib
	$(MAKE) -C examples

tools:
	$(MAKE) -C tools

daemon:
	$(MAKE) -C daemon

check: all
	$(MAKE) -C tests check KVER=$(KVER)

unit-check: lib
	$(MAKE) -C tests unit-check
	$(MAKE) -C daemon check

vm-check: all
	$(MAKE) -C tests vm-check KVER=$(KVER)

# Not part of `make check`: the Open MPI build alone takes longer than the
# suite's budget allows (cached in build/consumer/ after the first run).
consumer-test: kernel lib
	tests/consumer/run.sh

demo: all
	tests/vm/demo.sh

# The lockdep/KASAN/kmemleak/fault-injection kernel of the debug pass, as
# Debian packages in build/debug-kernel/ (about an hour on 2 cores); only
# for machines without the prebuilt ../shared/debug-kernel/.
debug-kernel:
	tools/debug-kernel/build.sh

install: lib daemon
	$(MAKE) -C libxpmem install
	$(MAKE) -C daemon install

uninstall:
	$(MAKE) -C libxpmem uninstall
	$(MAKE) -C daemon uninstall

clean:
	$(MAKE) -C libxpmem clean
	$(MAKE) -C examples clean
	$(MAKE) -C tools clean
	$(MAKE) -C daemon clean
	$(MAKE) -C tests clean
	$(MAKE) -C tests/consumer clean
	rm -rf build
