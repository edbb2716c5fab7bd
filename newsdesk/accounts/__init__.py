"""Editors' accounts, access policy, saved views ("desks") and their private token feeds."""
