"""`python -m los`: the same CLI as the `los` console command."""

from los.cli import app

app(prog_name="los")
