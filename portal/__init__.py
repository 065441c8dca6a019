"""The composition layer: pages that combine several apps.

A page that needs only one app lives in that app; a page that needs several
lives here, so that no app has to import one above it (docs/decisions/0004).
"""
