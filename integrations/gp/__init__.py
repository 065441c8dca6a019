"""The citizen's GP: results, the visit outcome, requests to confirm a phone order."""
