#!/bin/bash
# Run by CML when it builds a model of this project: install the project, and with it the cml-mlops library,
# into the model's image. The model's entry function is predict() in src/{{ cookiecutter.package_name }}/cml_model.py.
set -euo pipefail
pip3 install --no-cache-dir .
