"""AMP setup, first task: install this project, and with it the cml-mlops library, into the session's Python.

Standard library only: nothing else is installed yet. CML starts AMP sessions in the project folder.
"""

import subprocess
import sys
from pathlib import Path

subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(Path.cwd())], check=True)
