# Two commands: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/survey-app db upgrade
	SURVEY_DEMO_MODE=true $(BIN)/survey-app demo --simulate
	@echo "打开 http://$(HOST):$(PORT)/ ，用上面的演示账号登录。按 Ctrl+C 停止。"
	SURVEY_DEMO_MODE=true $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - 'survey_app:create_app()'

AXE := .npm-tools/node_modules/axe-core/axe.min.js

# axe-core (MPL-2.0) checks every page of the browser tests for WCAG 2.1 A/AA problems
$(AXE):
	mkdir -p .npm-tools && npm install --prefix .npm-tools --no-audit --no-fund --silent axe-core@4.14.1 || \
	  echo "warning: could not install axe-core with npm; the accessibility browser test will skip or fail" >&2

test: $(STAMP) $(AXE)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check survey_app analysis tests

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
