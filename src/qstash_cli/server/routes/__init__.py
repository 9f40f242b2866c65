"""The routes of `qstash dev`, one module per resource; each holds its `ROUTES`, handlers, filters and shapes.

A route module imports the plumbing beneath it (context, intake, handlers, shapes, filters and the store-side
modules), never another route module; `server/app.py` assembles their tables.
"""
