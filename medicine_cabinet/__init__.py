"""The acute function's medicine stock, not tied to any citizen's CPR number."""
