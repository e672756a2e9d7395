"""A Haztrak-shaped example project using taskbridge-django."""
