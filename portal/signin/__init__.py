"""Signing in through an organisation's identity provider (OpenID Connect,
authorization code with PKCE) and tokens for systems (OAuth 2.0 client
credentials with SMART backend-services scopes).

It sits in the composition layer because a sign-in, allowed or refused, is
written to the audit log (consent.audit) and acts on who-is-who (core).
"""
