"""{{ cookiecutter.project_name }}: use-case code (contracts, features) on top of the cml-mlops library."""
