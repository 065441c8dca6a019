"""Who is who: organisations, staff, roles, citizens — and the plumbing every
other app shares (errors, authentication, FHIR over HTTP, request context).

This app imports none of the others; they all may import it.
"""
