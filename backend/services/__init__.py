"""Backend services: the logic behind the routes, free of HTTP."""
