import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# What the platform loads at start-up lives as long as the web worker. Out of
# the garbage collector's sight, it is no longer scanned by the full
# collections a worker runs now and then: those pauses, each one a request
# kept waiting, shrink from tens of milliseconds to a few (docs/benchmarks.md).
gc.freeze()
