"""The pages' templates, static files and translation catalogues (``i18n``), rendered on the server."""
