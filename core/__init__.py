"""The shared core of Tipline: configuration, models, migrations, queue and the base app."""
