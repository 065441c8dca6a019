"""The Celery application: queues, routing and the beat schedule. No business logic."""
