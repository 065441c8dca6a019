"""The medical helpline 1813: referrals in, status of each referral back."""
