"""Referrals, triage, nurse shifts, dispatch, visits, lab tests and phone orders."""
