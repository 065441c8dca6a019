"""The citizen's municipality's home nursing: the hand-back report (R11)."""
