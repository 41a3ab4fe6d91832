"""The background side: Celery tasks, the checks, the policy and the sweeper."""
