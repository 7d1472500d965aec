# poscloud.fleet: the two commands are `make demo` and `make test`; both run `make setup` first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
BIN       := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Molecule and ansible-lint install nothing from a collection server (none is reachable here).
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export MOLECULE_OFFLINE := 1
export ANSIBLE_LINT_SKIP_INSTALL := 1
export ANSIBLE_LINT_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

INVENTORY := inventories/lab
PYTEST    := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: help setup demo test test-unit test-sanity test-lint test-lab-images test-molecule \
        test-e2e test-boot bench bench-media bench-stage bench-vpn bench-boot bench-cutover bench-fleet changelog clean

help:
	@echo "make demo    run the main job in the local lab (sets everything up first)"
	@echo "make test    run every test tier: unit, sanity, lint, lab images, molecule, e2e, boot"
	@echo "make setup   install what the project needs (idempotent; seconds when ready)"
	@echo "tiers:       make test-unit | test-sanity | test-lint | test-lab-images | test-molecule | test-e2e | test-boot"
	@echo "benchmarks:  make bench (bench/media.sh, bench/stage.sh, bench/vpn.sh, bench/boot.sh, bench/cutover.sh, bench/fleet.sh)"

setup:
	@scripts/setup.sh

DEMO_STORE ?= store_12345678

demo: setup
	ansible-playbook -i $(INVENTORY) playbooks/build_media.yml
	ansible-playbook -i $(INVENTORY) playbooks/lab.yml -l $(DEMO_STORE)
	ansible-playbook -i $(INVENTORY) playbooks/deploy_pos.yml -l $(DEMO_STORE)
	ansible-playbook -i $(INVENTORY) playbooks/pos_status.yml -l $(DEMO_STORE)
	@echo; cat reports/$(DEMO_STORE)/cutover.md

test: setup
	@scripts/run-tiers.sh --beside boot unit sanity lint lab-images molecule e2e

test-unit: setup
	@scripts/run-tiers.sh unit

test-sanity: setup
	@scripts/run-tiers.sh sanity

test-lint: setup
	@scripts/run-tiers.sh lint

test-lab-images: setup
	@scripts/run-tiers.sh lab-images

test-molecule: setup
	@scripts/run-tiers.sh lab-images molecule

test-e2e: setup
	@scripts/run-tiers.sh lab-images e2e

test-boot: setup
	@scripts/run-tiers.sh boot

bench: bench-media bench-stage bench-vpn bench-boot bench-cutover bench-fleet

bench-media: setup
	bench/media.sh

bench-stage: setup
	bench/stage.sh

bench-vpn: setup
	bench/vpn.sh

bench-boot: setup
	bench/boot.sh

bench-cutover: setup
	bench/cutover.sh

bench-fleet: setup
	bench/fleet.sh

changelog: setup
	antsibull-changelog lint

clean:
	rm -rf build tests/output .ansible
