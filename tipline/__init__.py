"""Tipline's command line: set up an instance, migrate, manage staff, run everything at once."""
