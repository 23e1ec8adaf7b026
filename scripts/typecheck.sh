#!/usr/bin/env bash
# Type-check the installed namespace with mypy. The package's parts sit at the repository's top
# level and are mapped into `litellm_claude` by pyproject.toml, a mapping mypy cannot follow, so
# a throw-away tree of symlinks (.typecheck/) shows it the namespace as installed.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .typecheck && mkdir -p .typecheck/litellm_claude
ln -s ../../litellm_claude/__init__.py ../../litellm_claude/py.typed .typecheck/litellm_claude/
for dir in $(.venv/bin/python -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['setuptools']['package-dir'].values()))"); do
  [ "$dir" = litellm_claude ] || ln -s "../../$dir" ".typecheck/litellm_claude/$dir"
done
MYPYPATH=.typecheck exec .venv/bin/mypy -p litellm_claude "$@"
