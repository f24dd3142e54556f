"""The data-access layer: every SQL statement of the backend, one module per aggregate.

Routes parse, authorise and call services; services decide and call these stores; only stores talk SQL (and the
media store the file system). Statements are written once and portable where they can be (named parameters,
``ON CONFLICT``, ``RETURNING``); what is dialect-specific is kept in one place per store, the seam PostgreSQL goes
behind.
"""
