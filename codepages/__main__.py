"""`python -m codepages`: the command line."""
from .cli import run

run()
