# The README's commands. `make setup run` sets up a fresh Debian/Ubuntu machine and runs the
# default job; `make test` runs the tests (what CI runs).

SWIFT ?= swift
# apt needs root: use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config zlib1g-dev libjpeg62-turbo-dev dataset-fashion-mnist
# MPI=1: build with the MPI package trait (runs across ranks, Open MPI) and install Open MPI in setup.
MPI ?=
MPI_PACKAGES := libopenmpi-dev openmpi-bin
TRAITS := $(if $(filter 1,$(MPI)),--traits MPI,)
LIPS := .build/release/lips

.PHONY: tsan setup build install uninstall run test bench fuzz golden golden-cases reference-env loc clean

## setup: install the system packages (OpenBLAS, LAPACKE, zlib, libjpeg-turbo, Fashion-MNIST; Open MPI with MPI=1)
setup:
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) $(if $(filter 1,$(MPI)),$(MPI_PACKAGES),)

## build: the release binary .build/release/lips (MPI=1: with the MPI trait, for runs across ranks)
build:
	$(SWIFT) build -c release --product lips $(TRAITS)

## install: the release binary into $(PREFIX)/bin (PREFIX=/usr/local; DESTDIR for packagers). The
## binary is self-contained: presets are compiled in; it links the system's OpenBLAS, LAPACKE,
## zlib and libjpeg (and Open MPI with MPI=1). Uses sudo where $(PREFIX)/bin is not writable.
PREFIX ?= /usr/local
BINDIR = $(DESTDIR)$(PREFIX)/bin
INSTALL_SUDO = $(shell mkdir -p "$(BINDIR)" 2>/dev/null; [ -w "$(BINDIR)" ] || echo $(SUDO))
install: build
	$(INSTALL_SUDO) install -d "$(BINDIR)"
	$(INSTALL_SUDO) install -m 755 $(LIPS) "$(BINDIR)/lips"
	@echo "installed $(BINDIR)/lips: $$("$(BINDIR)/lips" --version)"

## uninstall: removes $(PREFIX)/bin/lips
uninstall:
	$(INSTALL_SUDO) rm -f "$(BINDIR)/lips"

## run: the default job — FedAvg and LIPS on Fashion-MNIST in the paper's setting (100 clients,
## Dirichlet 0.1, 100/400 samples, ResNet-8, seed 2) for RUN_ROUNDS rounds (a few minutes on two
## cores), then their accuracy curves side by side. Rerunning resumes or reprints finished runs.
RUN_ROUNDS ?= 3
run: build
	$(LIPS) run --preset fmnist-resnet8-fedavg --set rounds=$(RUN_ROUNDS) --out runs/fmnist-fedavg-r$(RUN_ROUNDS) --progress
	$(LIPS) run --preset fmnist-resnet8-lips --set rounds=$(RUN_ROUNDS) --out runs/fmnist-lips-r$(RUN_ROUNDS) --progress
	$(LIPS) compare runs/fmnist-fedavg-r$(RUN_ROUNDS) runs/fmnist-lips-r$(RUN_ROUNDS) --dense

## test: every test, debug build (bounds-checked buffers catch kernel index bugs), the command-line
## checks of Tests/CLI/check.sh; then, where Open MPI is installed (mpirun and pkg-config ompi-c),
## the MPI checks of Tests/MPI/check.sh; then, where a Slurm controller answers (sbatch installed,
## sinfo works), the Slurm checks of Tests/Slurm/check.sh (Tests/Slurm/cluster.sh makes one here)
test:
	$(SWIFT) test
	SWIFT=$(SWIFT) Tests/CLI/check.sh
	@if command -v mpirun >/dev/null && pkg-config --exists ompi-c; then SWIFT=$(SWIFT) Tests/MPI/check.sh; \
	  else echo "make test: Open MPI not installed (make setup MPI=1): MPI launch checks skipped"; fi
	@if command -v sbatch >/dev/null && timeout 30 sinfo >/dev/null 2>&1; then SWIFT=$(SWIFT) Tests/Slurm/check.sh; \
	  else echo "make test: no Slurm controller answers (sbatch, sinfo): Slurm checks skipped (as root: Tests/Slurm/cluster.sh install && Tests/Slurm/cluster.sh start)"; fi

## bench: the package-benchmark suite in Benchmarks/ (its own package, so `make test` never builds
## it): kernels, ResNet-8 layers, local training (mallocs), FedAvg, LIPS masks, evaluation, rounds
bench:
	cd Benchmarks && $(SWIFT) package benchmark --no-progress $(BENCH_ARGS)

## tsan: the tests of every concurrent path (worker pool, ranks as threads, concurrent sweep runs,
## FedAvg block sums) under the thread sanitizer, in their own build folder (.build/tsan)
tsan:
	$(SWIFT) test --sanitize=thread --build-path .build/tsan \
	  --filter 'resultsAreBitwiseTheSameForOneTwoAndThreeWorkers|ranksWithoutClientsStillFollowTheRounds|concurrentRunsGiveTheSameResults|FedAvgSumTests'

## fuzz: the libFuzzer targets in Fuzz/ (their own package, so `make test` never builds them),
## each run for FUZZ_SECONDS (30) from its seed corpus Fuzz/Corpus/NAME: the IDX, CIFAR and
## prepared Tiny-ImageNet readers, the JPEG shim, the PNG decoder, the .npy header parser, the config and sweep YAML loaders and the
## checkpoint archive (FUZZ_TARGETS='idx jpeg' picks some). A crash, sanitizer report, input
## slower than 10 s or allocation beyond 2 GB fails it; the input is kept in Fuzz/.build/artifacts.
## Built with -sanitize=fuzzer,address as one flag (SwiftPM's `--sanitize fuzzer --sanitize address`
## gives swiftc two -sanitize flags, and swiftc keeps only the last: then Swift code has no
## coverage counters or no ASan, at random); linked with lld (gold warns about every ASan helper
## symbol); release, with testing enabled for the internal readers.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?=
FUZZ_BUILD := -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address \
	-Xswiftc -use-ld=lld -Xswiftc -enable-testing
fuzz:
	cd Fuzz && $(SWIFT) build $(FUZZ_BUILD)
	FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run.sh $(FUZZ_TARGETS)

## golden: only the PyTorch reference cases (LIPS_GOLDEN_DIR selects another folder)
golden:
	$(SWIFT) test --filter GoldenTests

## reference-env: the PyTorch reference environment (.venv-reference) from reference/requirements.txt
REFERENCE_VENV ?= .venv-reference
REFERENCE_PYTHON := $(REFERENCE_VENV)/bin/python
PYTORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
reference-env: $(REFERENCE_PYTHON)
$(REFERENCE_PYTHON): reference/requirements.txt
	python3 -m venv $(REFERENCE_VENV)
	$(REFERENCE_VENV)/bin/pip install -q -r reference/requirements.txt \
	  || $(REFERENCE_VENV)/bin/pip install -q -r reference/requirements.txt --extra-index-url $(PYTORCH_CPU_INDEX)
	touch $(REFERENCE_PYTHON)

## golden-cases: regenerate Tests/Golden with PyTorch (about half a minute)
golden-cases: $(REFERENCE_PYTHON)
	rm -f Tests/Golden/*.json Tests/Golden/*.bin
	$(REFERENCE_PYTHON) reference/make_golden.py Tests/Golden

## loc: lines of Swift per folder
loc:
	@for d in Sources/LIPS/* Sources/lips Tests/LIPSTests/*; do \
	  [ -d $$d ] && printf '%6d  %s\n' $$(cat $$(find $$d -name '*.swift') /dev/null | wc -l) $$d; done; true

clean:
	rm -rf .build
