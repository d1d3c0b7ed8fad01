#!/usr/bin/env bash
# python.sh: make sure a Python virtual environment with the model-building and
# benchmark packages exists, and print its python's path.
#
# Used to rebuild the test models (make models) and by benchmarks; `make test` does
# not need it. The venv lives at $STREAMSCORE_CACHE/venv. PYTHON picks the
# interpreter that creates it (default python3).
set -euo pipefail

LOG_NAME=python
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$STREAMSCORE_CACHE/venv"
PY="$VENV/bin/python"
# Distribution names for pip, and the module each one provides.
PACKAGES=(onnx scikit-learn skl2onnx onnxruntime numpy pyarrow)
MODULES=(onnx sklearn skl2onnx onnxruntime numpy pyarrow)

# has_packages finds every module without importing it (importing sklearn and
# onnxruntime takes seconds).
has_packages() {
	[[ -x "$PY" ]] && "$PY" -c '
import importlib.util, sys
sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))' "${MODULES[@]}" >/dev/null 2>&1
}

if has_packages; then
	echo "$PY"
	exit 0
fi

base="${PYTHON:-python3}"
if ! command -v "$base" >/dev/null; then
	apt_install python3 python3-venv
fi
command -v "$base" >/dev/null || die "$base not found"
if ! "$base" -c 'import venv, ensurepip' >/dev/null 2>&1; then
	apt_install python3-venv
fi

start=$SECONDS
if [[ ! -x "$PY" ]] || ! "$PY" -m pip --version >/dev/null 2>&1; then
	say "creating virtual environment $VENV with $("$base" --version 2>&1)"
	rm -rf "$VENV"
	"$base" -m venv "$VENV" || die "could not create a venv at $VENV with $base"
fi
say "installing ${PACKAGES[*]} into $VENV (first run only; takes a minute or two)"
if ! "$PY" -m pip install -q --disable-pip-version-check "${PACKAGES[@]}" >&2; then
	die "pip install ${PACKAGES[*]} failed (pip's output above)"
fi
imports="$(IFS=,; echo "${MODULES[*]}")"
"$PY" -c "import $imports" >&2 || die "pip finished but $PY cannot import $imports (error above)"
say "ready in $((SECONDS - start))s"
echo "$PY"
