#!/usr/bin/env bash
# Builds every kustomize overlay and validates what it renders, offline:
# schemas from kubernetes-validate, kustomize itself from pykustomize (the
# kustomize Go library in a wheel), and the MASH rules in validate.py.
#
# The first run installs both into a virtualenv from PyPI; later runs need no
# network. Set MASH_DEPLOY_VENV to put the virtualenv elsewhere.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${MASH_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mash-deploy-validate/venv}"
# pykustomize 0.1.4 declares Python >= 3.14 but runs on 3.9+: it only loads
# its bundled shared library through cffi. Hence --ignore-requires-python.
requirements="pykustomize==0.1.4 cffi==2.1.1 kubernetes-validate==1.37.0 PyYAML==6.0.3"

python="${PYTHON:-python3}"
if [[ ! -f "$venv/.installed" || "$(cat "$venv/.installed")" != "$requirements" ]]; then
    echo "validate.sh: installing $requirements into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086 # the requirements are words on purpose
    "$venv/bin/pip" install --quiet --disable-pip-version-check --ignore-requires-python $requirements
    echo "$requirements" > "$venv/.installed"
fi

exec "$venv/bin/python" "$here/validate.py" "$here/k8s" "$@"
