"""Server-rendered pages of the school service (Jinja2 templates, small inline scripts, no front-end build)."""
