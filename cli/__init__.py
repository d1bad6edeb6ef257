"""The `los` command line: the top of the house; nothing in the product imports it."""
