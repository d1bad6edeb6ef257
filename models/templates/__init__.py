"""Jinja2 templates of the printable outputs and the code that renders them."""
