# The README's commands. `make setup run` sets up a fresh Debian/Ubuntu machine and runs the
# default job; `make test` runs the tests (what CI runs).

SWIFT ?= swift
# apt needs root: use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config zlib1g-dev libjpeg62-turbo-dev dataset-fashion-mnist
LIPS := .build/release/lips

.PHONY: setup build run test golden loc clean

## setup: install the system packages (OpenBLAS, LAPACKE, zlib, libjpeg-turbo, Fashion-MNIST)
setup:
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES)

## build: the release binary .build/release/lips
build:
	$(SWIFT) build -c release --product lips

## run: the default job (for now: the ResNet-8 layer table and the paper's Fashion-MNIST split;
## the federated run replaces it when it lands)
run: build
	$(LIPS) inspect --model resnet8 --classes 10 --input 3x32x32
	$(LIPS) data check /usr/share/datasets/fashion-mnist
	$(LIPS) data stats --dataset fashion-mnist --partition 'dirichlet(0.1)' --clients 100 --train-num 100 --test-num 400 --seed 2 > /dev/null

## test: every test, debug build (bounds-checked buffers catch kernel index bugs)
test:
	$(SWIFT) test

## golden: only the PyTorch reference cases (LIPS_GOLDEN_DIR selects another folder)
golden:
	$(SWIFT) test --filter GoldenTests

## loc: lines of Swift per folder
loc:
	@for d in Sources/LIPS/* Sources/lips Tests/LIPSTests/*; do \
	  [ -d $$d ] && printf '%6d  %s\n' $$(cat $$(find $$d -name '*.swift') /dev/null | wc -l) $$d; done; true

clean:
	rm -rf .build
