"""`python -m cli`: the same CLI as the `los` console command."""

from cli.app import app

app(prog_name="los")
