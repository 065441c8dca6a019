"""The municipalities' care record systems (EOJ): updates to the shared record."""
