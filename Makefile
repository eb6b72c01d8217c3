# One entry point: build, install, test, demo.
#
#   make                 module (against Debian's installed headers), library, examples, tools
#   make check           native unit tests, then the VM suite
#   make bench           benchmarks in QEMU guests (bench/run.sh; not part of check)
#   make scaling         the scaling model of docs/scaling.md (after bench/trace.sh invalidate)
#   make install PREFIX=/usr/local DESTDIR=   user space: library, header, pkg-config,
#                        man pages, xpmemd + unit, udev rule (uninstall: the same)
#   make install-module  xpmem.ko for KVER into /lib/modules/KVER/updates, depmod
#   make install-dkms    the module's sources for DKMS into /usr/src/xpmem-VERSION
#   make deb             the Debian packages into build/deb/ (docs/packaging.md)
#   make deb-check       them installed, used and purged in a VM
#   make consumer-test   Open MPI rebuilt from Debian's source against libxpmem,
#                        its XPMEM single-copy path in a guest (docs/consumers.md)
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
VERSION := 0.1.0
# udev reads /usr/local/lib/udev/rules.d as well as /lib/udev/rules.d.
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
UDEVRULES := packaging/56-xpmem.rules

.PHONY: all kernel lib examples tools daemon check unit-check vm-check install uninstall \
	install-module uninstall-module install-dkms uninstall-dkms deb deb-check \
	clean demo debug-kernel bench scaling consumer-test

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

# Figures against references measured in the same guests (docs/benchmarks.md):
# build/bench/results.json and bandwidth.png.  Not part of `make check`.
bench: all
	$(MAKE) -C bench
	bench/run.sh

# docs/scaling.md: invalidation and fault latency for 8, 64 and 1024
# sharer nodes, from the per-stage costs of `bench/trace.sh invalidate`
# (run first; SCALING_STAGES=file picks another run).  Not part of check.
SCALING_STAGES ?= build/bench/trace-invalidate/stages.txt
scaling:
	$(MAKE) -s -C bench scale_model
	@test -f $(SCALING_STAGES) || { echo "no $(SCALING_STAGES): run bench/trace.sh invalidate first" >&2; exit 1; }
	bench/scale_model $(SCALING_STAGES)

# The lockdep/KASAN/kmemleak/fault-injection kernel of the debug pass, as
# Debian packages in build/debug-kernel/ (about an hour on 2 cores); only
# for machines without the prebuilt ../shared/debug-kernel/.
debug-kernel:
	tools/debug-kernel/build.sh

install: lib daemon
	$(MAKE) -C libxpmem install
	$(MAKE) -C daemon install
	install -d $(DESTDIR)$(UDEVRULESDIR)
	install -m 0644 $(UDEVRULES) $(DESTDIR)$(UDEVRULESDIR)/

uninstall:
	$(MAKE) -C libxpmem uninstall
	$(MAKE) -C daemon uninstall
	rm -f $(DESTDIR)$(UDEVRULESDIR)/$(notdir $(UDEVRULES))

# The module is not part of `make install`: it lives outside PREFIX, is
# built for one kernel (KVER, which is not the running one by default)
# and goes stale with the next kernel upgrade, which DKMS handles.
install-module: kernel
	$(MAKE) -C kernel install KVER=$(KVER) KBUILD_OUT=$(KBUILD_OUT)

uninstall-module:
	$(MAKE) -C kernel uninstall KVER=$(KVER) KBUILD_OUT=$(KBUILD_OUT)

# Then, as root: dkms install xpmem/$(VERSION)  (docs/packaging.md)
install-dkms:
	$(MAKE) -C kernel install-src VERSION=$(VERSION)

uninstall-dkms:
	$(MAKE) -C kernel uninstall-src VERSION=$(VERSION)

# xpmem-dkms, libxpmem0, libxpmem-dev, xpmemd from the tracked files
# only, built with dpkg-buildpackage in build/deb/src/.
deb:
	packaging/build-deb.sh

deb-check: deb
	tests/packaging/run.sh

clean:
	$(MAKE) -C libxpmem clean
	$(MAKE) -C examples clean
	$(MAKE) -C tools clean
	$(MAKE) -C daemon clean
	$(MAKE) -C tests clean
	$(MAKE) -C bench clean
	$(MAKE) -C tests/consumer clean
	rm -rf build
