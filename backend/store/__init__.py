"""The data-access layer: every SQL statement of the backend, one module per aggregate.

Routes parse, authorise and call services; services decide and call these stores; only stores talk SQL (and the
media store the file system). Stores take a ``sqlite3.Connection`` (the caller owns the transaction), return frozen
dataclasses or plain values, report a broken constraint as ``False`` and never raise HTTP or domain errors.

Modules: ``devices`` (cameras and their keys), ``events`` (ingested events and attachment links), ``media``
(attachment rows and files), ``schools`` (schools, classes, pupils, guardians and their links), ``faces`` (consent,
sealed templates, thumbnails, gallery versions), ``attendance`` (passes, derived days, unknown faces, the
dashboard's day views), ``audit`` (the school audit log), ``retention`` (session and login-failure purges),
``system`` (schema version), ``users`` (every account: logins, sessions, the accounts a school manages, operators)
and ``violations`` (the traffic review queue). The outbox is ``notifications.outbox``'s.

Statements are written once and portable where they can be (named parameters, ``ON CONFLICT``, ``COALESCE``);
what is SQLite's own is kept together in ``dialect`` (constraint errors, ``IN``-list chunking) and in
``backend.db.connect`` (pragmas): the seam PostgreSQL goes behind.
"""
