# Shouwang — the two commands a new machine needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install run test test-pg i18n locales check eval-risk train-risk bench-push bench-push-full bench-alert bench-api bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) locales

# Compiled catalogs (.mo) are build products: made from the committed .po files.
locales: $(STAMP)
	$(BIN)/pybabel -q compile -d locales -D messages

run: install
	$(BIN)/shouwang run

test: install
	$(BIN)/python -m pytest -n auto

# The same suite with the PostgreSQL path switched on (needs a local server).
test-pg: install
	SHOUWANG_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -n auto

# Extract interface strings, update both catalogs, fill English from the source strings, compile.
i18n: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k __ -k lazy_gettext -o locales/messages.pot --sort-by-file --omit-header bot core web channels
	$(BIN)/pybabel -q update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python scripts/i18n_fill_en.py locales/en/LC_MESSAGES/messages.po
	$(BIN)/pybabel -q compile -d locales -D messages

check: install
	$(BIN)/shouwang content check

# The risk scanner against tests/data/risk/: recall and false alarms per category and tier, the
# scan time per message, and the held-out set (written before the patterns, never tuned on).
eval-risk: install
	$(BIN)/python scripts/eval_risk.py --holdout --no-model
	$(BIN)/python scripts/eval_risk.py --holdout

# The risk scanner's statistical orange net: trains content/risk/model.json on tests/data/risk/
# (run by a content author after changing the corpus or the lexicon; review the diff).
train-risk: install
	$(BIN)/python scripts/train_risk_model.py

# The sender over real HTTP against a local Bot API double enforcing Telegram's limits (30/s,
# 1,000/s with paid broadcast, 1/s per chat, 429 + retry_after): rate at 30 and 1,000 msg/s,
# 429 counts, and a rate misconfigured to 300/s with red alerts raised meanwhile (issue #16's
# targets are printed with the figures). Quick by default; bench-push-full: 100,000 guardians.
# Then the paid campaign on PostgreSQL drained by BENCH_PUSH_SENDERS sender processes sharing the
# outbox and the budget (msg/s, % of the 1,000 cap, 429s, duplicates, missed, CPU per message); the
# database BENCH_PUSH_PG is emptied first (created when missing; its name must contain "bench").
# One sender by default: it holds the cap on two cores; BENCH_PUSH_SENDERS=1,2,3 shows how several
# share it (on two cores they add CPU per message, so they only pay on a machine with more).
BENCH_PUSH_PG ?= postgresql+asyncpg://postgres@127.0.0.1:5432/shouwang_bench_push
BENCH_PUSH_SENDERS ?= 1
bench-push: install
	$(BIN)/python scripts/bench_push.py
	$(BIN)/python scripts/bench_push.py --database-url $(BENCH_PUSH_PG) --senders $(BENCH_PUSH_SENDERS)

bench-push-full: install
	$(BIN)/python scripts/bench_push.py --full
	$(BIN)/python scripts/bench_push.py --database-url $(BENCH_PUSH_PG) --senders $(BENCH_PUSH_SENDERS) --paid-messages 30000

# Red alerts raised while a lesson drains at Telegram's ~30 msg/s (over HTTP, against the
# double): seconds until every director has the card (issue #5: within a minute).
bench-alert: install
	$(BIN)/python scripts/bench_alert_latency.py

# 10,000 households, 16 clients x 20 s per list and report over HTTP, with the tick running
# beside them (issue #16). BENCH_API_ARGS='--db postgresql+asyncpg://postgres@127.0.0.1:5432/shouwang_bench'
bench-api: install
	$(BIN)/python scripts/bench_api.py $(BENCH_API_ARGS)

bench: bench-push bench-alert bench-api

clean:
	rm -rf $(VENV) .pytest_cache
