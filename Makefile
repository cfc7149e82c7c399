.PHONY: setup test demo lint bench

setup:
	@bash scripts/setup.sh

test: setup
	npm run lint
	npm test

demo: setup
	npx tsx cli/main.ts demo

lint: setup
	npm run lint

bench: setup
	npm run bench
