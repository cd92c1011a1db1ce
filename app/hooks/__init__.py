"""What is particular to some tables, declared on their registry entries (`app/resources.py`)
and called by the generic services: a user's password and sign-ins (`accounts`), what a
change to the access tables gives people (`grants`), what a condition and a permission's
condition must be (`conditions`). Nothing here imports the registry or the services, so the
registry can name these.
"""
