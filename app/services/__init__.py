"""The service layer: what the app does, apart from how a request asked for it.

The JSON API (`app/api/`) and the pages (`app/routers/`) call these; they raise domain
errors (`app/core/errors.py`), which each interface answers in its own way.
"""
